/**
 * The whole chain, live: `npm run stack`'s Prometheus (deploy/'s rules, 15 s scrape and
 * evaluation), Alertmanager (deploy/'s routes and timing), bizmon-alert-bridge and the demo app
 * with its built-in traffic (a population of users and visitors on many addresses, see
 * packages/demo/README.md), delivering to a local DingTalk stand-in that checks signatures.
 * Three minutes of normal traffic page nobody: no alert goes firing in Prometheus or reaches
 * Alertmanager, no notification reaches either receiver. Then 30 % of requests failing with
 * 5xx pages HighErrorRate within 150 s of the fault's start (the seed's 2 minutes plus
 * delivery), and one AI service failing 30 % of its tasks pages AIServiceHighFailureRate for
 * that service only; both resolve. Every dashboard query returns data from the running demo
 * unless allow-listed below.
 *
 * Nothing is tuned for the test: deploy/'s critical route (group_wait 10 s, group_interval 1 m)
 * keeps the promise as it is, so the latency printed is that of the shipped configuration.
 * Both faults run at once in one stack start to keep the test near 5 minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  startDingTalk,
  startWebhook,
  type FakeServer,
} from '../packages/alerting/test/helpers/robots';
import { dashboardQueries, renderDashboardQuery } from '../deploy/scripts/dashboard-queries';
import { findTool } from '../deploy/scripts/tools';
import { EMPTY_FOR_THE_DEMO } from './support/demo-dashboards';

const ROOT = join(__dirname, '..');
const DETECTION_BOUND_S = 150;
/**
 * Normal traffic before the fault, watched throughout: long enough for every 1-minute window
 * to fill and for the 5-minute count rules (uploads, payments, suspicious access) to see most
 * of a window, without making the test slow.
 */
const BASELINE_MS = 180_000;
/** How often the baseline asks Prometheus and Alertmanager for alerts. */
const POLL_MS = 5_000;
const FAULTY_SERVICE = 'kling';

const available =
  findTool('prometheus') !== undefined && findTool('prometheus-alertmanager') !== undefined;

interface Stack {
  urls: { demo: string; prometheus: string; alertmanager: string; bridge: string };
  ports: { exporter: number };
  pids: number[];
}

/** One alert of a received message, read back from the bridge's English markdown. */
interface SeenAlert {
  at: number;
  status: 'firing' | 'resolved';
  name: string;
  severity: string;
  labels: Record<string, string>;
}

function alertsIn(fake: FakeServer): SeenAlert[] {
  return fake.received.flatMap(({ at, text }) =>
    text.split('\n\n---\n\n').flatMap((section) => {
      const title = /^### \S+ \[(Alert|Resolved)\] (\w+)/m.exec(section);
      if (!title) return [];
      const labels = Object.fromEntries(
        (/^- \*\*Labels\*\*: (.*)$/m.exec(section)?.[1] ?? '')
          .split(', ')
          .filter(Boolean)
          .map((kv) => kv.split('=') as [string, string]),
      );
      return [
        {
          at,
          status: title[1] === 'Alert' ? ('firing' as const) : ('resolved' as const),
          name: title[2]!,
          severity: /^- \*\*Severity\*\*: (\w+)/m.exec(section)?.[1] ?? '',
          labels,
        },
      ];
    }),
  );
}

async function promQuery(prometheus: string, query: string): Promise<unknown[]> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: unknown[] };
  };
  if (body.status !== 'success') throw new Error(`${query}: ${body.error}`);
  return body.data!.result;
}

/** An alert as Prometheus' /api/v1/alerts or Alertmanager's /api/v2/alerts lists it. */
interface ListedAlert {
  labels: Record<string, string>;
  /** Prometheus only: `pending` or `firing`. */
  state?: string;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** `Name{label="value", …}`, without the labels every rule carries. */
function describeAlert(labels: Record<string, string>): string {
  const inner = Object.entries(labels)
    .filter(([k]) => !['alertname', 'severity', 'team', 'job'].includes(k))
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return inner ? `${labels.alertname}{${inner}}` : String(labels.alertname);
}

async function setFault(demo: string, fault: object): Promise<void> {
  const res = await fetch(`${demo}/api/v1/admin/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  expect(res.status).toBe(200);
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

(available ? describe : describe.skip)('npm run stack, end to end', () => {
  let dir: string;
  let dingtalk: FakeServer & { webhookUrl: string };
  let others: FakeServer;
  let proc: ChildProcess | undefined;
  let output = '';
  let stack: Stack;
  let exited: Promise<number | null>;
  let readyAt = 0;
  let faultAt = 0;
  let faultEndedAt = 0;

  const critical = () => alertsIn(dingtalk).filter((a) => a.status === 'firing');
  const log = (line: string) => console.log(`E2E: ${line}`);
  /** Polls `probe`, failing at once if the stack stops (a part crashed or was killed). */
  const waitFor = <T>(what: string, timeoutMs: number, probe: () => T | undefined) =>
    until(what, timeoutMs, () => {
      if (proc!.exitCode !== null || proc!.signalCode !== null) {
        throw new Error(`the stack stopped while waiting for ${what}:\n${output}`);
      }
      return probe();
    });
  /** Rethrows with what the chain was doing, so a CI failure can be read from its message. */
  const diagnose = async (err: unknown): Promise<never> => {
    const alerts = await fetch(`${stack.urls.prometheus}/api/v1/alerts`)
      .then((r) => r.text())
      .catch(String);
    const tail = (part: string) =>
      readFileSync(join(dir, 'stack', 'logs', `${part}.log`), 'utf8')
        .split('\n')
        .slice(-10)
        .join('\n');
    throw new Error(
      `${(err as Error).message}\nPrometheus alerts: ${alerts}\n` +
        `bridge log:\n${tail('bridge')}\nalertmanager log:\n${tail('alertmanager')}`,
    );
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bizmon-e2e-'));
    dingtalk = await startDingTalk({ token: 'e2e-token', secret: 'SEC-e2e-secret' });
    others = await startWebhook();
    // Critical alerts to the on-call DingTalk robot, everything else to a plain webhook.
    writeFileSync(
      join(dir, 'bridge.yml'),
      stringify({
        language: 'en',
        source: 'bizmon-e2e',
        channels: {
          oncall: { type: 'dingtalk', webhookUrl: dingtalk.webhookUrl, secret: '${E2E_DT_SECRET}' },
          others: { type: 'webhook', url: others.url },
        },
        routes: [
          { match: { severity: 'critical' }, channels: ['oncall'] },
          { match: {}, channels: ['others'] },
        ],
      }),
    );
    proc = spawn(
      process.execPath,
      [
        join(ROOT, 'scripts/stack.mjs'),
        '--free-ports',
        '--json',
        '--data-dir',
        join(dir, 'stack'),
        '--bridge-config',
        join(dir, 'bridge.yml'),
      ],
      {
        env: { ...process.env, E2E_DT_SECRET: 'SEC-e2e-secret' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    exited = new Promise((r) => proc!.once('exit', (code) => r(code)));
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const line = await Promise.race([
      until('the stack', 150_000, () => /^STACK (.*)$/m.exec(output)?.[1]),
      exited.then((code) => {
        throw new Error(`the stack exited with ${code}:\n${output}`);
      }),
    ]);
    stack = JSON.parse(line) as Stack;
    readyAt = Date.now();
  }, 180_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGINT');
      await Promise.race([exited, sleep(30_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    await dingtalk?.close();
    await others?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test(
    `${BASELINE_MS / 60_000} minutes of normal traffic page nobody (no alert firing, none in Alertmanager, no notification)`,
    async () => {
      const prom = stack.urls.prometheus;
      // The promise and deploy/README's math assume these intervals.
      const status = (await (await fetch(`${prom}/api/v1/status/config`)).json()) as {
        data: { yaml: string };
      };
      expect(status.data.yaml).toMatch(/scrape_interval: 15s/);
      expect(status.data.yaml).toMatch(/evaluation_interval: 15s/);

      // One user's slips, as any population has them: an empty upload, a top-up over the
      // providers' limit and a handler bug. Each is one failure, far from a spike; they also give the dashboards'
      // failure panels a series whatever the dice of the simulated traffic say.
      const demo = stack.urls.demo;
      const asUser = (path: string, body: string, type: string) =>
        fetch(`${demo}${path}`, {
          method: 'POST',
          headers: { 'content-type': type, authorization: 'Bearer e2e-user' },
          body,
        }).then((r) => r.status);
      expect(await asUser('/api/v1/auth/register', '{"id":"e2e-user"}', 'application/json')).toBe(
        201,
      );
      expect(await asUser('/api/v1/files/upload', '', 'application/octet-stream')).toBe(413);
      expect(await asUser('/api/v1/credits/purchase', '{"amount":50000}', 'application/json')).toBe(
        402,
      );
      // A handler bug, a few an hour in the healthy traffic.
      expect((await fetch(`${demo}/api/v1/boom`)).status).toBe(500);

      // Every alert Prometheus lists during the baseline (pending or firing) and every alert
      // Alertmanager holds, with when it was first seen.
      const pending = new Map<string, number>();
      const firing = new Map<string, number>();
      const inAlertmanager = new Map<string, number>();
      const seen = (into: Map<string, number>, alert: ListedAlert) => {
        const name = describeAlert(alert.labels);
        if (!into.has(name)) into.set(name, Math.round((Date.now() - readyAt) / 1000));
      };
      let polls = 0;
      for (;;) {
        const [promAlerts, amAlerts] = await Promise.all([
          getJson<{ data: { alerts: ListedAlert[] } }>(`${prom}/api/v1/alerts`),
          getJson<ListedAlert[]>(`${stack.urls.alertmanager}/api/v2/alerts`),
        ]).catch(diagnose);
        polls++;
        for (const a of promAlerts.data.alerts) seen(a.state === 'firing' ? firing : pending, a);
        for (const a of amAlerts) seen(inAlertmanager, a);
        if (Date.now() - readyAt >= BASELINE_MS) break;
        await sleep(Math.min(POLL_MS, readyAt + BASELINE_MS - Date.now()));
      }
      const list = (m: Map<string, number>) =>
        m.size ? [...m].map(([name, at]) => `${name} (from ${at} s)`).join(', ') : 'none';
      expect(await promQuery(prom, 'up{job="bizmon"} == 1')).toHaveLength(1);
      const value = async (query: string) => {
        const [sample] = (await promQuery(prom, query)) as { value: [number, string] }[];
        return Number(sample?.value[1]);
      };
      const rate = await value('sum(rate(http_requests_total{job="bizmon"}[1m]))');
      const errors = await value(
        'sum(rate(http_requests_total{job="bizmon",status_code=~"5.."}[1m])) / sum(rate(http_requests_total{job="bizmon"}[1m]))',
      );
      const baselineSeconds = Math.round((Date.now() - readyAt) / 1000);
      log(
        `baseline of ${baselineSeconds} s of normal traffic (${polls} polls every ${POLL_MS / 1000} s): ` +
          `${rate.toFixed(1)} req/s, ${(errors * 100).toFixed(1)} % 5xx (HighErrorRate pages above 5 %); ` +
          `firing: ${list(firing)}; pending: ${list(pending)}; in Alertmanager: ${list(inAlertmanager)}; ` +
          `notifications: ${dingtalk.received.length + others.received.length}`,
      );
      expect(rate).toBeGreaterThan(5);
      expect([...firing.keys()]).toEqual([]);
      expect([...inAlertmanager.keys()]).toEqual([]);
      expect(dingtalk.received.map((r) => r.text)).toEqual([]);
      expect(others.received.map((r) => r.text)).toEqual([]);
      expect(dingtalk.rejections).toEqual([]);
    },
    BASELINE_MS + 30_000,
  );

  test(
    `30 % 5xx pages HighErrorRate within ${DETECTION_BOUND_S} s, 30 % failed ${FAULTY_SERVICE} tasks page AIServiceHighFailureRate for ${FAULTY_SERVICE} only`,
    async () => {
      faultAt = Date.now();
      await setFault(stack.urls.demo, {
        httpErrorRate: 0.3,
        aiFailureRate: { [FAULTY_SERVICE]: 0.3 },
      });
      const wait = (name: string) =>
        waitFor(`${name} firing`, (DETECTION_BOUND_S + 60) * 1000, () =>
          critical().find((a) => a.name === name),
        );
      const [http, ai] = await Promise.all([
        wait('HighErrorRate'),
        wait('AIServiceHighFailureRate'),
      ]).catch(diagnose);
      faultEndedAt = Date.now();
      await setFault(stack.urls.demo, {});
      const httpSeconds = (http.at - faultAt) / 1000;
      const aiSeconds = (ai.at - faultAt) / 1000;
      log(`HighErrorRate detected in ${httpSeconds.toFixed(1)} s`);
      log(`AIServiceHighFailureRate (${ai.labels.service}) detected in ${aiSeconds.toFixed(1)} s`);
      expect(http).toMatchObject({
        severity: 'critical',
        labels: { team: 'platform', job: 'bizmon' },
      });
      expect(ai).toMatchObject({ severity: 'critical', labels: { service: FAULTY_SERVICE } });
      expect(httpSeconds).toBeLessThanOrEqual(DETECTION_BOUND_S);
      expect(aiSeconds).toBeLessThanOrEqual(DETECTION_BOUND_S);
      // Every message was signed: the stand-in records only those whose signature matched.
      expect(dingtalk.rejections).toEqual([]);
    },
    (DETECTION_BOUND_S + 90) * 1000,
  );

  test('every dashboard query returns data (or is allow-listed)', async () => {
    const instance = `127.0.0.1:${stack.ports.exporter}`;
    const queries = dashboardQueries(join(ROOT, 'deploy/grafana/dashboards'));
    expect(queries.length).toBeGreaterThan(40);
    const empty: string[] = [];
    for (const q of queries) {
      // Grafana's $__rate_interval at a 15 s scrape is 4 scrapes.
      const expr = renderDashboardQuery(q.expr, { rateInterval: '1m', job: 'bizmon', instance });
      if (
        (await promQuery(stack.urls.prometheus, expr)).length === 0 &&
        !(q.where in EMPTY_FOR_THE_DEMO)
      ) {
        empty.push(`${q.where}: ${q.expr}`);
      }
    }
    expect(empty).toEqual([]);
    // The allow-list names existing panels only, so it cannot hide a renamed one.
    const panels = new Set(queries.map((q) => q.where));
    expect(Object.keys(EMPTY_FOR_THE_DEMO).filter((where) => !panels.has(where))).toEqual([]);
  }, 60_000);

  test('both alerts resolve after the fault ends, and no other critical alert was sent', async () => {
    if (!faultEndedAt) throw new Error('the faults were not detected: nothing to resolve');
    const resolved = (name: string) =>
      waitFor(`${name} resolved`, 300_000, () =>
        alertsIn(dingtalk).find((a) => a.name === name && a.status === 'resolved'),
      );
    const [http, ai] = await Promise.all([
      resolved('HighErrorRate'),
      resolved('AIServiceHighFailureRate'),
    ]).catch(diagnose);
    log(
      `HighErrorRate resolved ${((http.at - faultEndedAt) / 1000).toFixed(1)} s after the fault ended`,
    );
    log(
      `AIServiceHighFailureRate resolved ${((ai.at - faultEndedAt) / 1000).toFixed(1)} s after the fault ended`,
    );
    expect(ai.labels.service).toBe(FAULTY_SERVICE);
    const unexpected = critical().filter(
      (a) =>
        !(
          a.name === 'HighErrorRate' ||
          (a.name === 'AIServiceHighFailureRate' && a.labels.service === FAULTY_SERVICE)
        ),
    );
    expect(unexpected).toEqual([]);
    expect(dingtalk.rejections).toEqual([]);
  }, 320_000);

  test('Alertmanager reached the bridge with its token; a post without it is refused', async () => {
    const metrics = await (await fetch(`${stack.urls.bridge}/metrics`)).text();
    // Every webhook Alertmanager sent was accepted (it carries deploy/'s credentials_file token).
    expect(metrics).toMatch(/bizmon_bridge_requests_total\{code="200"\} [1-9]/);
    expect(metrics).not.toMatch(/bizmon_bridge_requests_total\{code="401"\}/);
    const forged = await fetch(`${stack.urls.bridge}/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(forged.status).toBe(401);
  });

  test('Ctrl-C stops every part of the stack', async () => {
    proc!.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stack.pids.filter(alive)).toEqual([]);
  }, 60_000);
});
