import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startBridge, tempDir, type BridgeProcess } from './helpers/bridge';
import { occurrences, startDingTalk, startWeCom, waitFor } from './helpers/robots';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const AMTOOL = '/usr/bin/amtool';
const missing = [ALERTMANAGER, AMTOOL].filter((b) => !existsSync(b));
if (missing.length) {
  const msg = `!!! ${missing.join(', ')} not installed: the Alertmanager end-to-end test cannot run (apt-get install prometheus-alertmanager)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(msg);
}
const maybe = missing.length ? test.skip : test;

const env = {
  AM_DT_TOKEN: 'am-dt-token-1q2w3e',
  AM_DT_SECRET: 'SECam-dt-secret-4r5t',
  AM_WECOM_KEY: 'am-wecom-key-6y7u',
};
let dingtalk: Awaited<ReturnType<typeof startDingTalk>>;
let wecom: Awaited<ReturnType<typeof startWeCom>>;
let bridge: BridgeProcess | undefined;
let am: ChildProcess | undefined;
let amUrl = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  if (missing.length) return;
  dingtalk = await startDingTalk({ token: env.AM_DT_TOKEN, secret: env.AM_DT_SECRET });
  wecom = await startWeCom({ token: env.AM_WECOM_KEY });
  const dir = tempDir('am');
  bridge = await startBridge(
    dir,
    `listen: 127.0.0.1:0
dataDir: ./outbox
language: zh
delivery: { timeoutMs: 3000, retryBaseMs: 50, retryMaxMs: 500 }
channels:
  ops-dingtalk: { type: dingtalk, webhookUrl: "${dingtalk.url}/robot/send?access_token=\${AM_DT_TOKEN}", secret: "\${AM_DT_SECRET}" }
  sec-wecom: { type: wecom, webhookUrl: "${wecom.url}/cgi-bin/webhook/send?key=\${AM_WECOM_KEY}" }
routes:
  - match: { team: security }
    channels: [sec-wecom]
  - match: { severity: critical }
    channels: [ops-dingtalk]
`,
    env,
  );
  const amConfig = path.join(dir, 'alertmanager.yml');
  writeFileSync(
    amConfig,
    `route:
  receiver: bizmon-bridge
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: bizmon-bridge
    webhook_configs:
      - url: ${bridge.url}/alerts
        send_resolved: true
        max_alerts: 2
`,
  );
  execFileSync(AMTOOL, ['check-config', amConfig], { stdio: 'pipe' });
  const port = await freePort();
  amUrl = `http://127.0.0.1:${port}`;
  am = spawn(
    ALERTMANAGER,
    [
      `--config.file=${amConfig}`,
      `--storage.path=${path.join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`${amUrl}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('alertmanager did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  if (am && am.exitCode === null) {
    const exited = new Promise((r) => am!.once('exit', r));
    am.kill('SIGTERM');
    await exited;
  }
  await bridge?.stop('SIGTERM');
  await Promise.all([dingtalk?.close(), wecom?.close()]);
});

async function postAlerts(alerts: Array<Record<string, unknown>>): Promise<void> {
  const res = await fetch(`${amUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  expect(res.status).toBe(200);
}

maybe(
  'a real Alertmanager posts to the bridge, which delivers by route, with truncation noted',
  async () => {
    const startsAt = new Date().toISOString();
    await postAlerts(
      ['a', 'b', 'c'].map((instance) => ({
        labels: { alertname: 'AmHighErrorRate', severity: 'critical', team: 'platform', instance },
        annotations: {
          summary: '5xx 比例超过 5%',
          runbook_url: 'https://runbooks.example/high-error-rate',
        },
        generatorURL: 'http://prometheus.example:9090/graph',
        startsAt,
      })),
    );
    await waitFor(
      () => occurrences(dingtalk, '[告警] AmHighErrorRate') >= 2,
      20_000,
      'dingtalk delivery',
    );
    const msg = dingtalk.received[0]!.text;
    // max_alerts: 2 makes Alertmanager send two alerts and truncatedAlerts: 1.
    expect(occurrences(dingtalk, '[告警] AmHighErrorRate')).toBe(2);
    expect(msg).toContain('另有 1 条告警被 Alertmanager 省略');
    expect(msg).toContain('[处理手册](https://runbooks.example/high-error-rate)');
    expect(wecom.received).toHaveLength(0);
  },
);

maybe('security alerts go to WeChat Work, and their resolution follows', async () => {
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  const alert = {
    labels: { alertname: 'AmLoginFailures', severity: 'warning', team: 'security' },
    annotations: { summary: '登录失败过多', description: '每秒 12 次登录失败' },
    startsAt,
  };
  await postAlerts([alert]);
  await waitFor(
    () => occurrences(wecom, '[告警] AmLoginFailures') === 1,
    20_000,
    'firing on wecom',
  );
  await postAlerts([{ ...alert, endsAt: new Date().toISOString() }]);
  await waitFor(
    () => occurrences(wecom, '[已恢复] AmLoginFailures') === 1,
    20_000,
    'resolved on wecom',
  );
  expect(wecom.received.at(-1)!.text).toContain('恢复时间');
  expect(occurrences(dingtalk, 'AmLoginFailures')).toBe(0);
  const joined = bridge!.lines.join('\n');
  for (const s of Object.values(env)) expect(joined).not.toContain(s);
});
