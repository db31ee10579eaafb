/**
 * Issue #13, finding 3: 300 posts of 900 KB were all stored whole (a 258 MB outbox) and a
 * critical alert posted after them reached the robot about 15 minutes later. Now alerts are
 * bounded (long annotations cut with a marker), the outbox is bounded, critical goes before
 * warning before info, and a full outbox sheds the lowest severity first (counted, logged).
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { amPayload, post, startBridge, tempDir, type BridgeProcess } from './helpers/bridge';
import { startDingTalk, waitFor, type FakeServer } from './helpers/robots';

const TOKEN = 'flood-dingtalk-token-4f2a';
let dingtalk: FakeServer & { webhookUrl: string };
const bridges: BridgeProcess[] = [];

function yaml(extra = ''): string {
  return `listen: 127.0.0.1:0
dataDir: ./data
language: en
delivery: { timeoutMs: 3000, retryBaseMs: 50, retryMaxMs: 300 }
channels:
  oncall: { type: dingtalk, webhookUrl: "${dingtalk.webhookUrl}" }
routes:
  - channels: [oncall]
${extra}`;
}

/** Peak resident memory of a process (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

function metric(metrics: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : NaN;
}

/** Index of the first message that names `alertname`. */
const indexOf = (alertname: string) =>
  dingtalk.received.findIndex((r) => r.text.includes(alertname));

beforeAll(async () => {
  dingtalk = await startDingTalk({ token: TOKEN });
});

afterEach(() => {
  dingtalk.release();
  dingtalk.resetRate();
});

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop()));
  await dingtalk.close();
});

test('after 300 posts of 900 KB, a critical alert reaches a 20-a-minute robot within 30 s; RSS stays under 200 MB', async () => {
  const b = await startBridge(tempDir('bridge-flood'), yaml());
  bridges.push(b);
  const big = 'x'.repeat(900 * 1024);
  let next = 0;
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < 300) {
        const i = next++;
        const payload = amPayload([
          {
            labels: { alertname: `Flood${i}`, severity: 'warning' },
            annotations: { summary: big },
          },
        ]);
        statuses.push((await post(`${b.url}/alerts`, payload)).status);
      }
    }),
  );
  expect(statuses.filter((s) => s === 200)).toHaveLength(300);

  const sentAt = Date.now();
  const beforeCritical = dingtalk.received.length;
  const critical = amPayload([
    { labels: { alertname: 'RealPage', severity: 'critical' }, annotations: { summary: 'down' } },
  ]);
  expect((await post(`${b.url}/alerts`, critical)).status).toBe(200);
  await waitFor(() => indexOf('RealPage') >= 0, 30_000, 'the critical alert');
  const latencyS = (dingtalk.received[indexOf('RealPage')]!.at - sentAt) / 1000;
  // It jumped the queue: the very next message the robot accepted carries it.
  expect(indexOf('RealPage')).toBe(beforeCritical);
  expect(latencyS).toBeLessThanOrEqual(30);
  expect(dingtalk.rejections).toEqual([]);

  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  // Every annotation was cut to 4096 bytes: the outbox holds about 4 KB per alert, not 900.
  expect(metric(metrics, 'bizmon_bridge_alerts_truncated_total')).toBe(300);
  const outboxBytes = metric(metrics, 'bizmon_bridge_outbox_bytes');
  expect(outboxBytes).toBeLessThan(300 * 6 * 1024);
  // The cut is visible in the message.
  expect(dingtalk.received[0]!.text).toContain('…truncated');
  const rss = peakRss(b.proc.pid!);
  expect(rss).toBeLessThan(200 * 1024 * 1024);
  console.log(
    `flood: outbox ${outboxBytes} bytes after 300 × 900 KB; critical delivered after ` +
      `${latencyS.toFixed(3)} s; peak RSS ${(rss / 1048576).toFixed(0)} MB`,
  );
}, 60_000);

test('a full outbox sheds the lowest severity first, never what is being sent, and refuses what it cannot place', async () => {
  const b = await startBridge(tempDir('bridge-shed'), yaml('limits: { maxOutboxEntries: 5 }\n'));
  bridges.push(b);
  dingtalk.mode = 'hold';
  const send = async (name: string, severity: string) =>
    (await post(`${b.url}/alerts`, amPayload([{ labels: { alertname: name, severity } }]))).status;
  expect(await send('Info0', 'info')).toBe(200); // in flight (the robot holds its answer)
  await waitFor(() => dingtalk.requests > 0);
  for (const [n, s] of [
    ['Info1', 'info'],
    ['Info2', 'info'],
    ['Warn0', 'warning'],
    ['Warn1', 'warning'],
  ])
    expect(await send(n!, s!)).toBe(200);
  expect(await send('Crit0', 'critical')).toBe(200); // sheds Info1 (Info0 is in flight)
  expect(await send('Warn2', 'warning')).toBe(200); // sheds Info2
  expect(await send('Info3', 'info')).toBe(503); // nothing less severe left to shed
  expect(await send('Crit1', 'critical')).toBe(200); // sheds Warn0, the oldest warning
  dingtalk.release();
  const delivered = ['Info0', 'Crit0', 'Crit1', 'Warn1', 'Warn2'];
  await waitFor(() => delivered.every((n) => indexOf(n) >= 0), 15_000, 'deliveries');
  // In flight first, then by severity, then in arrival order.
  const order = delivered.map(indexOf);
  expect(order).toEqual([...order].sort((x, y) => x - y));
  for (const shed of ['Info1', 'Info2', 'Warn0', 'Info3']) expect(indexOf(shed)).toBe(-1);
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  expect(
    metric(metrics, 'bizmon_bridge_notifications_shed_total{channel="oncall",severity="info"}'),
  ).toBe(2);
  expect(
    metric(metrics, 'bizmon_bridge_notifications_shed_total{channel="oncall",severity="warning"}'),
  ).toBe(1);
  expect(
    metric(metrics, 'bizmon_bridge_notifications_shed_total{channel="oncall",severity="critical"}'),
  ).toBe(0);
  expect(metric(metrics, 'bizmon_bridge_requests_total{code="503"}')).toBe(1);
  // Logged at once, then at most once a minute.
  expect(b.lines.filter((l) => /outbox full .*shed 1 notification/.test(l))).toHaveLength(1);
});

test('an outbox written whole by an older bridge is cut on start; malformed entries go to failed/', async () => {
  const dir = tempDir('bridge-upgrade');
  const pending = path.join(dir, 'data', 'pending');
  mkdirSync(pending, { recursive: true });
  const now = Date.now();
  const entry = (id: string, name: string, summary: string) => ({
    id,
    channel: 'oncall',
    createdAt: now,
    notification: {
      source: 'alertmanager',
      truncatedAlerts: 0,
      alerts: [
        {
          name,
          severity: 'warning',
          status: 'firing',
          summary,
          labels: { alertname: name },
          startsAt: new Date(now).toISOString(),
        },
      ],
    },
  });
  const id = `${String(now).padStart(15, '0')}-000001-aaaa`;
  writeFileSync(
    path.join(pending, `${id}.json`),
    JSON.stringify(entry(id, 'OldHuge', 'y'.repeat(900 * 1024))),
  );
  const bad = `${String(now).padStart(15, '0')}-000002-bbbb`;
  writeFileSync(path.join(pending, `${bad}.json`), JSON.stringify({ id: bad, channel: 'oncall' }));
  const b = await startBridge(dir, yaml());
  bridges.push(b);
  await waitFor(() => indexOf('OldHuge') >= 0);
  expect(dingtalk.received[indexOf('OldHuge')]!.text).toContain('…truncated');
  expect(readdirSync(path.join(dir, 'data', 'failed'))).toEqual([`${bad}.json`]);
  await waitFor(() => readdirSync(pending).length === 0);
});

test('one post keeps at most maxAlertsPerPost alerts, most severe first, and counts the rest', async () => {
  const dir = tempDir('bridge-many');
  const b = await startBridge(dir, yaml());
  bridges.push(b);
  dingtalk.mode = 'hold';
  const alerts = [
    ...Array.from({ length: 1000 }, (_, i) => ({
      labels: { alertname: `I${i}`, severity: 'info' },
    })),
    ...Array.from({ length: 500 }, (_, i) => ({
      labels: { alertname: `C${i}`, severity: 'critical' },
    })),
  ];
  expect((await post(`${b.url}/alerts`, amPayload(alerts))).status).toBe(200);
  const pending = path.join(dir, 'data', 'pending');
  const [file] = readdirSync(pending);
  const entry = JSON.parse(readFileSync(path.join(pending, file!), 'utf8')) as {
    notification: { alerts: Array<{ name: string }>; truncatedAlerts: number };
  };
  expect(entry.notification.alerts).toHaveLength(1000);
  expect(entry.notification.truncatedAlerts).toBe(500);
  const names = entry.notification.alerts.map((a) => a.name);
  expect(names.slice(0, 500)).toEqual(Array.from({ length: 500 }, (_, i) => `C${i}`));
  expect(names.slice(500)).toEqual(Array.from({ length: 500 }, (_, i) => `I${i}`));
});
