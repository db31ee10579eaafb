import {
  createAlertManager,
  createChannel,
  channelConfigSchema,
  Redactor,
  type AlertManager,
  type Notification,
} from '@bizmon/alerting';
import {
  occurrences,
  waitFor,
  startDingTalk,
  startFeishu,
  startWebhook,
  startWeCom,
  type FakeServer,
} from './helpers/robots';
import { startSmtp, type FakeSmtp } from './helpers/smtp';

const DT_TOKEN = 'dt-token-5f2a9c1e7b';
const DT_SECRET = 'SECdingtalk0123456789abcdef';
const WECOM_KEY = 'wecom-key-4c1d2e3f';
const FS_TOKEN = 'feishu-hook-9a8b7c6d';
const FS_SECRET = 'feishu-secret-xyz123';
const WH_SECRET = 'webhook-hmac-secret-42';
const SMTP_PASS = 'smtp-pass-s3cr3t';
const SECRETS = [DT_TOKEN, DT_SECRET, WECOM_KEY, FS_TOKEN, FS_SECRET, WH_SECRET, SMTP_PASS];

let dingtalk: Awaited<ReturnType<typeof startDingTalk>>;
let wecom: Awaited<ReturnType<typeof startWeCom>>;
let feishu: Awaited<ReturnType<typeof startFeishu>>;
let webhook: FakeServer;
let smtp: FakeSmtp;
const logs: string[] = [];
const logger = {
  info: (m: string) => logs.push(m),
  warn: (m: string) => logs.push(m),
  error: (m: string) => logs.push(m),
};
const managers: AlertManager[] = [];
const fast = { timeoutMs: 2_000, retryBaseMs: 20, retryMaxMs: 100 };

function manager(config: Parameters<typeof createAlertManager>[0]): AlertManager {
  const m = createAlertManager({ logger, ...config, delivery: { ...fast, ...config.delivery } });
  managers.push(m);
  return m;
}

beforeAll(async () => {
  dingtalk = await startDingTalk({ token: DT_TOKEN, secret: DT_SECRET });
  wecom = await startWeCom({ token: WECOM_KEY });
  feishu = await startFeishu({ token: FS_TOKEN, secret: FS_SECRET });
  webhook = await startWebhook(WH_SECRET);
  smtp = await startSmtp('alerts', SMTP_PASS);
});

afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
  await Promise.all([dingtalk, wecom, feishu, webhook, smtp].map((s) => s.close()));
  const joined = logs.join('\n');
  for (const s of SECRETS) expect(joined).not.toContain(s);
});

function allChannels() {
  return [
    {
      type: 'dingtalk' as const,
      webhookUrl: dingtalk.webhookUrl,
      secret: DT_SECRET,
      atMobiles: ['13800000000'],
    },
    { type: 'wecom' as const, webhookUrl: wecom.webhookUrl },
    { type: 'feishu' as const, webhookUrl: feishu.webhookUrl, secret: FS_SECRET },
    { type: 'webhook' as const, url: `${webhook.url}/hook`, secret: WH_SECRET },
    {
      type: 'email' as const,
      smtp: {
        host: '127.0.0.1',
        port: smtp.port,
        secure: false,
        auth: { user: 'alerts', pass: SMTP_PASS },
      },
      from: 'bizmon@example.com',
      to: ['ops@example.com', 'oncall@example.com'],
    },
  ];
}

test('every channel delivers, signed where the platform signs', async () => {
  const m = manager({
    source: 'wxiai-platform',
    channels: allChannels(),
    language: 'en',
    timeZone: 'Asia/Shanghai',
  });
  const results = await m.send({
    name: 'PaymentFailures',
    severity: 'critical',
    message: 'payment failures above 5%',
    details: {
      description: 'provider timeouts',
      runbook_url: 'https://runbooks.example/pay',
      team: 'payments',
    },
  });
  expect(results.map((r) => [r.channel, r.ok, r.attempts])).toEqual([
    ['dingtalk', true, 1],
    ['wecom', true, 1],
    ['feishu', true, 1],
    ['webhook', true, 1],
    ['email', true, 1],
  ]);
  for (const fake of [dingtalk, wecom, feishu, webhook]) {
    expect(occurrences(fake, 'PaymentFailures')).toBeGreaterThanOrEqual(1);
  }
  const dt = dingtalk.received.at(-1)!;
  expect(dt.text).toContain('🚨');
  expect(dt.text).toContain('team=payments');
  expect(dt.text).toContain('[Runbook](https://runbooks.example/pay)');
  expect(dt.text).toContain('@13800000000');
  expect(dt.body.at).toEqual({ atMobiles: ['13800000000'], isAtAll: false });
  const hook = webhook.received.at(-1)!.body;
  expect(hook).toMatchObject({
    alert_name: 'PaymentFailures',
    severity: 'critical',
    source: 'wxiai-platform',
  });
  expect(smtp.mails).toHaveLength(1);
  expect(smtp.mails[0]!.to).toEqual(['ops@example.com', 'oncall@example.com']);
  expect(smtp.mails[0]!.raw.replace(/=\r\n/g, '')).toContain('PaymentFailures');
});

test('Chinese is the default language, with the seed severity emoji', async () => {
  const m = manager({
    channels: [{ type: 'webhook', url: `${webhook.url}/zh`, secret: WH_SECRET }],
  });
  await m.send({ name: 'LowCacheHitRate', severity: 'warning', message: '缓存命中率低于 70%' });
  const text = webhook.received.at(-1)!.text;
  expect(text).toContain('⚠️ [告警] LowCacheHitRate');
  expect(text).toContain('**级别**: warning (警告)');
  expect(text).toContain('**来源**: bizmon');
});

test('bad token, bad signature and bad login are not retried, and the error says so without the secret', async () => {
  const m = manager({
    channels: [
      {
        type: 'dingtalk',
        webhookUrl: dingtalk.webhookUrl.replace(DT_TOKEN, 'wrong-token-123'),
        name: 'dt-token',
      },
      {
        type: 'dingtalk',
        webhookUrl: dingtalk.webhookUrl,
        secret: 'SECwrong-secret-000',
        name: 'dt-sign',
      },
      {
        type: 'feishu',
        webhookUrl: feishu.webhookUrl,
        secret: 'wrong-feishu-secret',
        name: 'fs-sign',
      },
      { type: 'webhook', url: `${webhook.url}/x`, secret: 'wrong-hmac-secret', name: 'wh-sign' },
      {
        type: 'email',
        name: 'mail',
        smtp: {
          host: '127.0.0.1',
          port: smtp.port,
          secure: false,
          auth: { user: 'alerts', pass: 'wrong-pass-777' },
        },
        from: 'a@example.com',
        to: ['b@example.com'],
      },
    ],
  });
  const results = await m.send({ name: 'X', severity: 'info', message: 'x' });
  for (const r of results) {
    expect(r).toMatchObject({ ok: false, attempts: 1, permanent: true });
    expect(r.error).toMatch(/not retrying/);
    for (const s of [
      'wrong-token-123',
      'SECwrong-secret-000',
      'wrong-feishu-secret',
      'wrong-hmac-secret',
      'wrong-pass-777',
    ]) {
      expect(r.error).not.toContain(s);
    }
  }
  expect(results[0]!.error).toContain('300001');
  expect(results[1]!.error).toContain('310000');
  expect(results[2]!.error).toContain('19021');
});

test('a DingTalk signature outside the one-hour window is rejected', async () => {
  const config = channelConfigSchema.parse({
    type: 'dingtalk',
    webhookUrl: dingtalk.webhookUrl,
    secret: DT_SECRET,
  });
  const stale = createChannel('stale', config, {
    render: { language: 'zh' },
    timeoutMs: 2_000,
    log: logger,
    now: () => Date.now() - 2 * 3_600_000,
  });
  const n: Notification = {
    source: 't',
    truncatedAlerts: 0,
    alerts: [
      {
        name: 'Stale',
        severity: 'info',
        status: 'firing',
        summary: 's',
        labels: {},
        startsAt: new Date().toISOString(),
      },
    ],
  };
  await expect(stale.send(n, AbortSignal.timeout(2_000))).rejects.toMatchObject({
    retryable: false,
  });
  expect(dingtalk.rejections).toContain(310000);
});

test('WeChat Work messages are cut to 4096 bytes on a UTF-8 boundary with a marker', async () => {
  const m = manager({ channels: [{ type: 'wecom', webhookUrl: wecom.webhookUrl }] });
  const long = '数据库连接池耗尽，'.repeat(400);
  const [r] = await m.send({
    name: 'DatabaseConnectionPoolExhausted',
    severity: 'critical',
    message: long,
  });
  expect(r!.ok).toBe(true);
  const text = wecom.received.at(-1)!.text;
  expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(4096);
  expect(text).toMatch(/…（内容过长，已截断）$/);
  expect(text).not.toContain('\uFFFD');
});

test('rate-limit codes, 5xx and network errors are retried until delivered, once', async () => {
  const limited = await startDingTalk({ token: DT_TOKEN, perMinute: 1 });
  const flaky = await startWebhook();
  const fsLimited = await startFeishu({ token: FS_TOKEN, perMinute: 1 });
  try {
    const m = manager({
      channels: [
        // Our own limit is set above the robot's so the robot's rate-limit code is exercised.
        {
          type: 'dingtalk',
          webhookUrl: limited.webhookUrl,
          rateLimit: { messages: 100, perMs: 60_000 },
        },
        { type: 'webhook', url: flaky.url },
        { type: 'feishu', webhookUrl: fsLimited.webhookUrl },
        { type: 'webhook', url: 'http://127.0.0.1:1/refused', name: 'refused' },
      ],
      delivery: { maxAttempts: 20, retryMaxMs: 50 },
    });
    await m.send({ name: 'First', severity: 'info', message: 'fills the minute' });
    flaky.mode = 'down';
    const pending = m.send({ name: 'Second', severity: 'info', message: 'retried' });
    await waitFor(
      () =>
        limited.rejections.length >= 2 &&
        flaky.rejections.length >= 2 &&
        fsLimited.rejections.length >= 2,
    );
    limited.resetRate();
    fsLimited.resetRate();
    flaky.mode = 'ok';
    const results = await pending;
    expect(limited.rejections).toContain(130101);
    expect(fsLimited.rejections).toContain(11232);
    expect(flaky.rejections).toContain(503);
    expect(results.slice(0, 3).map((r) => r.ok)).toEqual([true, true, true]);
    expect(results[0]!.attempts).toBeGreaterThan(1);
    expect(results[3]).toMatchObject({ ok: false, permanent: false, attempts: 20 });
    for (const fake of [limited, flaky, fsLimited]) expect(occurrences(fake, 'Second')).toBe(1);
  } finally {
    await Promise.all([limited.close(), flaky.close(), fsLimited.close()]);
  }
});

test('redactor masks known secrets and token-shaped URL parts', () => {
  const r = Redactor.forChannels(allChannels().map((c) => channelConfigSchema.parse(c)));
  const line = `POST ${dingtalk.webhookUrl}&sign=abc failed; secret ${DT_SECRET}; pass ${SMTP_PASS}; ${feishu.webhookUrl}; https://x/y?key=other-key`;
  const out = r.redact(line);
  for (const s of [...SECRETS, 'other-key', 'sign=abc']) expect(out).not.toContain(s);
});
