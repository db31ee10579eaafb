/**
 * Issue #13: alert text from anyone who can write a rule or post an alert is forged to look like
 * our markup (headings, links, mentions, HTML) or like our log lines. The bridge runs as users
 * run it (its bin) and delivers to the local stand-ins; the messages they receive are parsed as
 * CommonMark (markdown-it, with inline HTML on) and compared with an alert of harmless text.
 */
import MarkdownIt from 'markdown-it';
import { amPayload, post, startBridge, tempDir, type BridgeProcess } from './helpers/bridge';
import {
  startDingTalk,
  startFeishu,
  startWebhook,
  startWeCom,
  waitFor,
  type FakeServer,
} from './helpers/robots';
import { startSmtp, type FakeSmtp } from './helpers/smtp';

const env = {
  DT_TOKEN: 'dt-forge-token-51a2',
  WECOM_KEY: 'wecom-forge-key-77b1',
  FS_TOKEN: 'feishu-forge-hook-0c3d',
  SMTP_PASS: 'smtp-forge-pass-9e8f',
};

const FORGED = {
  name: 'X\n### 🚨 FAKE: all clear [click](http://evil.example/phish)',
  summary:
    '**bold** `code` ~~strike~~ ![img](http://evil.example/i.png) <font color="info">ok</font>',
  description:
    'details\n\n---\n\n### ✅ Resolved\n- all clear <a href="http://evil.example">here</a> <at id=all></at> <@all> @13800000000 :DONE:',
  runbook: 'http://ok.example/rb) [phish](http://evil.example/2',
  labelKey: 'x<at id=all></at>',
  labelValue: '[y](http://evil.example/3)\r\nBcc: victim@evil.example',
  subject: 'Sub\r\nBcc: victim@evil.example\r\nX-Injected: 1',
};

/** The forged alert, and one with the same parts in harmless words. */
function alerts(forged: boolean) {
  const f = forged
    ? FORGED
    : {
        ...Object.fromEntries(Object.keys(FORGED).map((k) => [k, `plain ${k}`])),
        runbook: 'http://ok.example/rb',
        labelKey: 'plainkey',
      };
  return [
    {
      labels: {
        alertname: `${f.name} ${forged ? `<@all> ${FORGED.subject}` : ''}`,
        severity: 'critical',
        [f.labelKey!]: f.labelValue!,
      },
      annotations: { summary: f.summary!, description: f.description!, runbook_url: f.runbook! },
    },
    {
      labels: { alertname: 'SecondAlert', severity: 'warning' },
      annotations: { summary: 'second', runbook_url: 'javascript:alert(1)' },
    },
  ];
}

const md = new MarkdownIt({ html: true, linkify: false });

interface Shape {
  /** Token types other than plain text, in order (headings, lists, bold, links, HTML, …). */
  structure: string[];
  links: string[];
  /** Every text the reader sees, decoded. */
  text: string;
}

function shape(markdown: string): Shape {
  const structure: string[] = [];
  const links: string[] = [];
  let text = '';
  const walk = (tokens: ReturnType<typeof md.parse>) => {
    for (const t of tokens) {
      if (t.children) walk(t.children);
      else if (t.type === 'text' || t.type === 'text_special' || t.type === 'softbreak')
        text += t.type === 'softbreak' ? '\n' : t.content;
      if (t.type === 'inline') continue;
      if (t.type !== 'text' && t.type !== 'text_special' && t.type !== 'softbreak')
        structure.push(`${t.type}${t.tag ? `:${t.tag}` : ''}`);
      if (t.type === 'link_open') links.push(t.attrGet('href') ?? '');
    }
  };
  walk(md.parse(markdown, {}));
  return { structure, links, text };
}

let dingtalk: FakeServer;
let wecom: FakeServer;
let feishu: FakeServer;
let webhook: FakeServer;
let smtp: FakeSmtp;
let bridge: BridgeProcess;
const servers: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  const dt = await startDingTalk({ token: env.DT_TOKEN });
  const wc = await startWeCom({ token: env.WECOM_KEY });
  const fs = await startFeishu({ token: env.FS_TOKEN });
  dingtalk = dt;
  wecom = wc;
  feishu = fs;
  webhook = await startWebhook();
  smtp = await startSmtp('bridge', env.SMTP_PASS);
  servers.push(dingtalk, wecom, feishu, webhook, smtp);
  bridge = await startBridge(
    tempDir('bridge-forge'),
    `listen: 127.0.0.1:0
dataDir: ./data
language: zh
timeZone: Asia/Shanghai
delivery: { timeoutMs: 3000, retryBaseMs: 50, retryMaxMs: 300 }
channels:
  dt: { type: dingtalk, webhookUrl: "${dt.url}/robot/send?access_token=\${DT_TOKEN}", atMobiles: ["13900000000"] }
  wc: { type: wecom, webhookUrl: "${wc.url}/cgi-bin/webhook/send?key=\${WECOM_KEY}", mentionedMobiles: ["13700000000"] }
  fs: { type: feishu, webhookUrl: "${fs.url}/open-apis/bot/v2/hook/\${FS_TOKEN}" }
  wh: { type: webhook, url: "${webhook.url}/hook" }
  mail:
    type: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, secure: false, auth: { user: bridge, pass: "\${SMTP_PASS}" } }
    from: bridge@example.com
    to: [ops@example.com]
routes:
  - channels: [dt, wc, fs, wh, mail]
`,
    env,
  );
  // The harmless alert first, then the forged one: each robot's messages are [harmless, forged].
  for (const forged of [false, true]) {
    expect((await post(`${bridge.url}/alerts`, amPayload(alerts(forged)))).status).toBe(200);
    const n = forged ? 2 : 1;
    await waitFor(
      () =>
        [dingtalk, feishu, webhook].every((s) => s.received.length === n) &&
        wecom.received.length === 2 * n &&
        smtp.mails.length === n,
    );
  }
});

afterAll(async () => {
  await bridge.stop();
  await Promise.all(servers.map((s) => s.close()));
});

describe.each([
  ['DingTalk', () => dingtalk],
  ['WeChat Work', () => wecom],
  ['Feishu', () => feishu],
  ['webhook text', () => webhook],
])('%s markdown', (_name, server) => {
  /** The markdown messages (WeChat Work's mention messages are text, checked below). */
  const received = () => server().received.filter((r) => !r.text.startsWith('TEXT:'));

  test('has exactly the structure and links of a harmless alert; the forged text shows as written', () => {
    const [harmless, forged] = received().map((r) => shape(r.text));
    expect(forged!.structure).toEqual(harmless!.structure);
    expect(forged!.structure.filter((s) => s.startsWith('heading_open'))).toHaveLength(2);
    expect(forged!.structure.some((s) => /html|image|code|^s_open|^em_open/.test(s))).toBe(false);
    // Our links only, the runbook's URL unable to break out; the javascript: runbook is text.
    expect(forged!.links).toEqual([
      'http://ok.example/rb%29%20%5Bphish%5D%28http://evil.example/2',
      'http://prometheus.example:9090/graph?g0.expr=up',
      'http://prometheus.example:9090/graph?g0.expr=up',
    ]);
    const text = forged!.text;
    expect(text).toContain('X ### 🚨 FAKE: all clear [click](http://evil.example/phish)');
    expect(text).toContain(FORGED.summary);
    expect(text).toContain('<at id=all></at> <@all> @13800000000 :DONE:');
    expect(text).toContain('x<at id=all></at>=[y](http://evil.example/3) Bcc: victim@evil.example');
    expect(text).toContain('javascript:alert(1)');
  });

  test('mentions: only ours', () => {
    const raw = received()[1]!.text;
    expect(raw).not.toMatch(/<at|<@|@1380/);
    const mentions = raw.match(/@\d+/g) ?? [];
    expect(mentions).toEqual(server() === dingtalk ? ['@13900000000'] : []);
  });
});

test('WeChat Work: the mention message mentions only our list; its title makes no <@mention>', async () => {
  // One alert, so the mention message's title carries the forged name.
  const before = wecom.received.length;
  expect((await post(`${bridge.url}/alerts`, amPayload([alerts(true)[0]!]))).status).toBe(200);
  await waitFor(() => wecom.received.length === before + 2);
  const text = wecom.received.slice(before).find((r) => r.text.startsWith('TEXT:'))!;
  const body = text.body as { text: { content: string; mentioned_mobile_list: string[] } };
  expect(body.text.mentioned_mobile_list).toEqual(['13700000000']);
  expect(body.text.content).not.toMatch(/<|[\r\n]/);
  expect(body.text.content).toContain('FAKE: all clear [click](http://evil.example/phish) ＜@all>');
});

test('Feishu: the card title is plain text on one line', () => {
  const body = feishu.received[1]!.body as {
    card: { header: { title: { tag: string; content: string } } };
  };
  expect(body.card.header.title.tag).toBe('plain_text');
  expect(body.card.header.title.content).not.toMatch(/[\r\n]/);
});

test('webhook: the alerts stay data, exactly as posted', () => {
  const body = webhook.received[1]!.body as {
    alerts: Array<{ name: string; labels: Record<string, string> }>;
  };
  expect(body.alerts[0]!.name).toBe(alerts(true)[0]!.labels.alertname);
  expect(body.alerts[0]!.labels[FORGED.labelKey]).toBe(FORGED.labelValue);
});

/** Decodes a quoted-printable body. */
function qp(s: string): string {
  const bytes = s
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

test('email: one Subject header, no injected header; the HTML part has only our tags and links', () => {
  const raw = smtp.mails[1]!.raw;
  const [head] = raw.split(/\r\n\r\n/);
  const headers = head!.split(/\r\n(?![ \t])/);
  expect(headers.filter((h) => /^subject:/i.test(h))).toHaveLength(1);
  expect(headers.filter((h) => /^(bcc|x-injected):/i.test(h))).toEqual([]);
  const part = /Content-Type: text\/html[^]*?\r\n\r\n([^]*?)\r\n--/i.exec(raw);
  expect(part).not.toBeNull();
  const html = qp(part![1]!);
  const tags = [...html.matchAll(/<([a-z0-9]+)/gi)].map((m) => m[1]!.toLowerCase());
  expect(new Set(tags)).toEqual(new Set(['h3', 'ul', 'li', 'b', 'a', 'hr']));
  expect([...html.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1])).toEqual([
    'http://ok.example/rb)%20[phish](http://evil.example/2',
    'http://prometheus.example:9090/graph?g0.expr=up',
    'http://prometheus.example:9090/graph?g0.expr=up',
  ]);
  expect(html).toContain('&lt;font color=&quot;info&quot;&gt;ok&lt;/font&gt;');
  expect(html).toContain('&lt;a href=&quot;http://evil.example&quot;&gt;here&lt;/a&gt;');
});

test('log lines: a label key holding \\n, \\r and ANSI escapes is echoed escaped, on one line', async () => {
  const key = 'k\n[bizmon-alerting] error: FORGED\r\u001b[31mred';
  const before = bridge.lines.length;
  const res = await post(
    `${bridge.url}/alerts`,
    amPayload([{ labels: { alertname: 'L', [key]: 5 as unknown as string } }]),
  );
  expect(res.status).toBe(400);
  await waitFor(() => bridge.lines.length > before);
  const lines = bridge.lines.slice(before);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain('k\\n[bizmon-alerting] error: FORGED\\r\\u001b[31mred');
  expect(lines[0]).toMatch(/^\[bizmon-alerting\] warning: POST \/alerts rejected \(400\)/);
  expect(bridge.lines.join('\n')).not.toMatch(/[\r\u001b]/);
});
