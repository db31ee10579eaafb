import { readdirSync } from 'node:fs';
import { loadBridgeConfig, routeAlert } from '@bizmon/alerting';
import path from 'node:path';
import { amPayload, post, startBridge, tempDir, type BridgeProcess } from './helpers/bridge';
import {
  occurrences,
  startDingTalk,
  startFeishu,
  startWebhook,
  startWeCom,
  waitFor,
  type FakeServer,
} from './helpers/robots';
import { startSmtp, type FakeSmtp } from './helpers/smtp';

const env = {
  DT_TOKEN: 'dt-bridge-token-8e7d6c',
  DT_SECRET: 'SECbridge-dingtalk-secret-1f2e',
  WECOM_KEY: 'wecom-bridge-key-3a4b5c',
  FS_TOKEN: 'feishu-bridge-hook-6d7e8f',
  FS_SECRET: 'feishu-bridge-secret-9g8h',
  WH_SECRET: 'webhook-bridge-hmac-0z9y',
  SMTP_PASS: 'smtp-bridge-pass-7x6w',
};
const allLines: string[] = [];
const servers: Array<{ close(): Promise<void> }> = [];
const bridges: BridgeProcess[] = [];
let dingtalk: Awaited<ReturnType<typeof startDingTalk>>;
let wecom: Awaited<ReturnType<typeof startWeCom>>;
let feishu: Awaited<ReturnType<typeof startFeishu>>;
let webhook: FakeServer;
let smtp: FakeSmtp;

/** Test delivery settings: quick retries; the rate limits stay the real 20 a minute. */
const FAST = `delivery: { timeoutMs: 3000, retryBaseMs: 50, retryMaxMs: 300 }\ndrainTimeoutMs: 5000\n`;

function channelsYaml(): string {
  return `channels:
  ops-dingtalk: { type: dingtalk, webhookUrl: "${dingtalk.url}/robot/send?access_token=\${DT_TOKEN}", secret: "\${DT_SECRET}", atMobiles: ["13900000000"] }
  sec-wecom: { type: wecom, webhookUrl: "${wecom.url}/cgi-bin/webhook/send?key=\${WECOM_KEY}" }
  pay-feishu: { type: feishu, webhookUrl: "${feishu.url}/open-apis/bot/v2/hook/\${FS_TOKEN}", secret: "\${FS_SECRET}" }
  fallback-webhook: { type: webhook, url: "${webhook.url}/hook", secret: "\${WH_SECRET}" }
  mail:
    type: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, secure: false, auth: { user: bridge, pass: "\${SMTP_PASS}" } }
    from: bridge@example.com
    to: [ops@example.com]
  broken-dingtalk: { type: dingtalk, webhookUrl: "${dingtalk.url}/robot/send?access_token=\${DT_TOKEN}", secret: "SECnot-the-right-secret" }
`;
}

function config(extra = ''): string {
  return `listen: 127.0.0.1:0
dataDir: ./data
language: zh
timeZone: Asia/Shanghai
${FAST}${channelsYaml()}routes:
  - match: { team: security }
    channels: [sec-wecom]
  - match: { severity: critical }
    channels: [ops-dingtalk]
    continue: true
  - matchRe: { service: "pay.*" }
    channels: [pay-feishu, mail]
  - match: { alertname: BrokenRoute }
    channels: [broken-dingtalk]
  - match: { team: nobody }
    channels: [fallback-webhook]
${extra}`;
}

async function bridge(dir: string, yaml = config()): Promise<BridgeProcess> {
  const b = await startBridge(dir, yaml, env, allLines);
  bridges.push(b);
  return b;
}

/** /metrics once the outbox is empty: counts follow the durable removal, a moment after the files go. */
async function settledMetrics(url: string): Promise<string> {
  let metrics = '';
  for (let i = 0; i < 200 && !/bizmon_bridge_outbox_depth 0\n/.test(metrics); i++) {
    metrics = await (await fetch(`${url}/metrics`)).text();
  }
  return metrics;
}

function pendingFiles(dir: string): string[] {
  return readdirSync(path.join(dir, 'data', 'pending'));
}

beforeAll(async () => {
  dingtalk = await startDingTalk({ token: env.DT_TOKEN, secret: env.DT_SECRET });
  wecom = await startWeCom({ token: env.WECOM_KEY });
  feishu = await startFeishu({ token: env.FS_TOKEN, secret: env.FS_SECRET });
  webhook = await startWebhook(env.WH_SECRET);
  smtp = await startSmtp('bridge', env.SMTP_PASS);
  servers.push(dingtalk, wecom, feishu, webhook, smtp);
});

afterEach(() => {
  for (const s of [dingtalk, wecom, feishu, webhook]) {
    s.release();
    s.mode = 'ok';
    s.resetRate();
  }
});

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop()));
  await Promise.all(servers.map((s) => s.close()));
});

test('routes alerts to every channel type; first match wins unless continue; no match goes to the last route', async () => {
  const dir = tempDir('bridge-route');
  const b = await bridge(dir);
  const res = await post(
    `${b.url}/alerts`,
    amPayload([
      { labels: { alertname: 'HighLoginFailureRate', severity: 'critical', team: 'security' } },
      { labels: { alertname: 'PaymentFailuresHigh', severity: 'critical', service: 'payments' } },
      { labels: { alertname: 'SlowResponseTime', severity: 'warning', team: 'web' } },
    ]),
  );
  expect(res.status).toBe(200);
  expect(JSON.parse(res.body)).toMatchObject({ notifications: 5 });
  await waitFor(
    () => smtp.mails.length === 1 && webhook.received.length === 1 && feishu.received.length === 1,
  );
  await waitFor(() => dingtalk.received.length === 1 && wecom.received.length === 1);
  expect(occurrences(wecom, 'HighLoginFailureRate')).toBe(1);
  expect(occurrences(wecom, 'PaymentFailuresHigh')).toBe(0);
  expect(occurrences(dingtalk, 'PaymentFailuresHigh')).toBe(1);
  expect(occurrences(dingtalk, 'HighLoginFailureRate')).toBe(0);
  expect(occurrences(feishu, 'PaymentFailuresHigh')).toBe(1);
  expect(smtp.mails[0]!.raw).toContain('Subject: =?UTF-8?');
  expect(occurrences(webhook, 'SlowResponseTime')).toBe(1);
  expect(occurrences(webhook, 'PaymentFailuresHigh')).toBe(0);
  const dt = dingtalk.received[0]!.text;
  expect(dt).toContain('🚨 [告警] PaymentFailuresHigh');
  expect(dt).toContain('(Asia/Shanghai)');
  expect(dt).toContain('[查看来源](http://prometheus.example:9090/graph?g0.expr=up)');
  expect(dt).toContain('@13900000000');
  await waitFor(() => pendingFiles(dir).length === 0);

  const metrics = await settledMetrics(b.url);
  expect(metrics).toMatch(/bizmon_bridge_notifications_received_total\{channel="ops-dingtalk"\} 1/);
  expect(metrics).toMatch(/bizmon_bridge_notifications_sent_total\{channel="mail"\} 1/);
  expect(metrics).toMatch(/bizmon_bridge_outbox_depth 0/);
  expect(metrics).toMatch(/bizmon_bridge_delivery_latency_seconds_count\{channel="sec-wecom"\} 1/);
  for (const s of Object.values(env)) expect(metrics).not.toContain(s);
  expect(await (await fetch(`${b.url}/health`)).json()).toEqual({ status: 'ok', outboxDepth: 0 });
});

test('bad bodies: 400 for non-payloads, 413 over 1 MB, 405 for GET', async () => {
  const b = await bridge(tempDir('bridge-bad'));
  expect((await post(`${b.url}/alerts`, '{not json')).status).toBe(400);
  expect((await post(`${b.url}/alerts`, { hello: 'world' })).status).toBe(400);
  expect(
    (
      await post(`${b.url}/alerts`, {
        ...amPayload([{ labels: { alertname: 'X' } }]),
        version: '3',
      })
    ).status,
  ).toBe(400);
  expect(
    (await post(`${b.url}/alerts`, { ...amPayload([]), alerts: [{ labels: 'nope' }] })).status,
  ).toBe(400);
  const huge = amPayload([
    { labels: { alertname: 'Huge' }, annotations: { summary: 'x'.repeat(1024 * 1024) } },
  ]);
  expect((await post(`${b.url}/alerts`, huge)).status).toBe(413);
  expect((await fetch(`${b.url}/alerts`)).status).toBe(405);
  // Just under the limit is accepted.
  const big = amPayload([
    {
      labels: { alertname: 'Big', team: 'nobody' },
      annotations: { summary: 'y'.repeat(1000 * 1000) },
    },
  ]);
  expect((await post(`${b.url}/alerts`, big)).status).toBe(200);
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  expect(metrics).toMatch(/bizmon_bridge_requests_total\{code="400"\} 4/);
  expect(metrics).toMatch(/bizmon_bridge_requests_total\{code="413"\} 1/);
});

test('a robot down, then back, gets every alert exactly once; a bad secret is not retried', async () => {
  const dir = tempDir('bridge-down');
  const b = await bridge(dir);
  dingtalk.mode = 'down';
  const before = dingtalk.received.length;
  for (let i = 0; i < 5; i++) {
    const r = await post(
      `${b.url}/alerts`,
      amPayload([{ labels: { alertname: `Outage${i}`, severity: 'critical' } }]),
    );
    expect(r.status).toBe(200);
  }
  await waitFor(() => dingtalk.rejections.filter((c) => c === 503).length >= 3);
  dingtalk.mode = 'ok';
  expect(
    (await post(`${b.url}/alerts`, amPayload([{ labels: { alertname: 'BrokenRoute' } }]))).status,
  ).toBe(200);
  await waitFor(() => [0, 1, 2, 3, 4].every((i) => occurrences(dingtalk, `Outage${i}`) === 1));
  await waitFor(() => pendingFiles(dir).length === 0);
  // Retrying merged what queued up behind the first alert.
  expect(dingtalk.received.length - before).toBeLessThan(5);
  expect(occurrences(dingtalk, 'BrokenRoute')).toBe(0);
  expect(readdirSync(path.join(dir, 'data', 'failed'))).toHaveLength(1);
  const metrics = await settledMetrics(b.url);
  expect(metrics).toMatch(/bizmon_bridge_delivery_retries_total\{channel="ops-dingtalk"\} [1-9]/);
  expect(metrics).toMatch(
    /bizmon_bridge_notifications_failed_total\{channel="broken-dingtalk"\} 1/,
  );
  expect(metrics).toMatch(/bizmon_bridge_delivery_retries_total\{channel="broken-dingtalk"\} 0/);
  expect(b.lines.join('\n')).toMatch(/broken-dingtalk.*310000.*not retrying/);
});

test('kill -9 with alerts in the outbox loses none and duplicates none', async () => {
  const dir = tempDir('bridge-kill');
  let b = await bridge(dir);
  webhook.mode = 'down';
  dingtalk.mode = 'down';
  const names = Array.from({ length: 12 }, (_, i) => `Killed${String(i).padStart(2, '0')}`);
  for (const [i, name] of names.entries()) {
    const labels =
      i % 2
        ? { alertname: name, severity: 'critical', team: 'x' }
        : { alertname: name, team: 'nobody' };
    expect((await post(`${b.url}/alerts`, amPayload([{ labels }]))).status).toBe(200);
  }
  expect(pendingFiles(dir)).toHaveLength(12);
  expect(await b.stop('SIGKILL')).toBeNull();
  expect(b.proc.signalCode).toBe('SIGKILL');
  webhook.mode = 'ok';
  dingtalk.mode = 'ok';
  b = await bridge(dir);
  await waitFor(() => pendingFiles(dir).length === 0);
  for (const [i, name] of names.entries()) {
    expect(occurrences(i % 2 ? dingtalk : webhook, name)).toBe(1);
  }
  expect(b.lines.join('\n')).toMatch(/resuming 12 pending/);
});

test('30 alerts in a minute to one DingTalk robot arrive in at most 20 messages, within its limit', async () => {
  const dir = tempDir('bridge-rate');
  const b = await bridge(dir);
  dingtalk.mode = 'hold';
  const before = dingtalk.received.length;
  const rejectionsBefore = dingtalk.rejections.length;
  const names = Array.from({ length: 30 }, (_, i) => `Burst${String(i).padStart(2, '0')}`);
  // Accepted while the robot holds its first answer, so the burst is queued as Alertmanager would queue it.
  const statuses = await Promise.all(
    names.map((n) =>
      post(
        `${b.url}/alerts`,
        amPayload([{ labels: { alertname: n, severity: 'critical', team: 'x' } }]),
      ),
    ),
  );
  expect(statuses.every((s) => s.status === 200)).toBe(true);
  dingtalk.release();
  await waitFor(() => names.every((n) => occurrences(dingtalk, n) === 1), 20_000, 'all 30 alerts');
  await waitFor(() => pendingFiles(dir).length === 0);
  const messages = dingtalk.received.length - before;
  expect(messages).toBeLessThanOrEqual(20);
  expect(dingtalk.rejections.slice(rejectionsBefore)).toEqual([]);
  for (const n of names) expect(occurrences(dingtalk, n)).toBe(1);
});

test('SIGTERM drains queued deliveries and exits 0', async () => {
  const dir = tempDir('bridge-term');
  const b = await bridge(dir);
  webhook.mode = 'hold';
  for (let i = 0; i < 3; i++) {
    await post(
      `${b.url}/alerts`,
      amPayload([{ labels: { alertname: `Drain${i}`, team: 'nobody' } }]),
    );
  }
  b.proc.kill('SIGTERM');
  await waitFor(() => b.lines.some((l) => l.includes('SIGTERM')));
  webhook.release();
  expect(await b.exited).toBe(0);
  for (let i = 0; i < 3; i++) expect(occurrences(webhook, `Drain${i}`)).toBe(1);
  expect(pendingFiles(dir)).toEqual([]);
});

test('bad config exits 2 with the field named and no secret printed', async () => {
  const dir = tempDir('bridge-cfg');
  await expect(
    bridge(dir, `${channelsYaml()}routes:\n  - channels: [missing-channel]\n`),
  ).rejects.toThrow(/routes\.0\.channels\.0: unknown channel "missing-channel"/);
  await expect(
    bridge(dir, `channels: {}\nroutes: [{ channels: [x] }]\nlisten: "\${NOT_SET_VAR}"\n`),
  ).rejects.toThrow(/NOT_SET_VAR/);
});

test('no secret appears in any log line', () => {
  expect(allLines.length).toBeGreaterThan(10);
  const joined = allLines.join('\n');
  for (const s of [...Object.values(env), 'SECnot-the-right-secret'])
    expect(joined).not.toContain(s);
});

test('the example config is valid', () => {
  const vars = [
    'DT_TOKEN',
    'DT_SECRET',
    'WECOM_KEY',
    'FEISHU_TOKEN',
    'FEISHU_SECRET',
    'SMTP_PASS',
    'WEBHOOK_SECRET',
    'BIZMON_BRIDGE_TOKEN',
  ];
  const cfg = loadBridgeConfig(
    path.join(__dirname, '..', 'examples', 'bridge.yml'),
    Object.fromEntries(vars.map((v) => [v, `value-of-${v}`])),
  );
  expect(Object.keys(cfg.channels)).toHaveLength(5);
  expect(cfg.delivery).toMatchObject({ timeoutMs: 10_000 });
  expect(routeAlert(cfg.routes, { team: 'security', severity: 'critical' })).toEqual([
    'sec-wecom',
    'audit-webhook',
  ]);
  expect(routeAlert(cfg.routes, { severity: 'critical' })).toEqual(['ops-dingtalk', 'oncall-mail']);
  expect(routeAlert(cfg.routes, { severity: 'info' })).toEqual(['ops-dingtalk']);
  expect(() => loadBridgeConfig(path.join(__dirname, '..', 'examples', 'bridge.yml'), {})).toThrow(
    /DT_TOKEN/,
  );
});
