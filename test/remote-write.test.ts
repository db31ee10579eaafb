/**
 * Past one Prometheus (deploy/prometheus-agent, deploy/central): a Prometheus in agent mode
 * scrapes the demo and remote-writes to a second Prometheus started with
 * --web.enable-remote-write-receiver, which loads every rule file of deploy/prometheus/rules.
 * The central side gets the demo's series with the agent's external labels, evaluates every
 * rule without error, every recording rule produces samples, and every dashboard query answers
 * there (with data unless allow-listed); the agent itself has no query API.
 *
 * Both configs are the committed files with only addresses rewritten (less what has no
 * counterpart here: the bridge's scrape job and the central side's Alertmanager), and the
 * scrape and evaluation intervals cut from 15 s to 5 s so the test sees a few samples in under
 * a minute (the rules' windows are 1 m and more, so 5 s only adds samples to them). The demo with its
 * simulated users is the app, not a fixture: its traffic moves every series the rules and
 * dashboards read, as a real service would, and it is what `npm run stack` runs.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { dashboardQueries, renderDashboardQuery } from '../deploy/scripts/dashboard-queries';
import { deployDir } from '../deploy/scripts/generate';
import { findTool } from '../deploy/scripts/tools';
import { freePort, startApp, type RunningApp } from './support/apps';
import { parseExposition, sampleValue } from './support/exposition';
import { EMPTY_FOR_THE_DEMO } from './support/demo-dashboards';
import { describeIf } from './support/env';

const DEPLOY = deployDir();
const ROOT = join(__dirname, '..');
/** Scrape and evaluation interval of the test, in seconds (deploy/ ships 15 s). */
const TEST_INTERVAL_S = 5;
const TEST_INTERVAL = `${TEST_INTERVAL_S}s`;
/** The agent's jobs that have nothing to scrape here, and why. */
const DROPPED_JOBS: Record<string, string> = {
  'bizmon-alert-bridge': 'no bridge runs in this test (test/e2e-alerts.test.ts covers it)',
};
const prometheusBin = findTool('prometheus');
const promtoolBin = findTool('promtool');

interface PromConfig {
  global: Record<string, unknown>;
  rule_files?: string[];
  alerting?: unknown;
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  remote_write?: { url: string }[];
}

const readConfig = (path: string): PromConfig =>
  parse(readFileSync(join(DEPLOY, path), 'utf8')) as PromConfig;

/** Points each committed `host:port` target at its loopback address; unknown ones fail. */
function rewriteTargets(cfg: PromConfig, addresses: Record<string, string>): void {
  cfg.scrape_configs = cfg.scrape_configs.filter((job) => !(job.job_name in DROPPED_JOBS));
  for (const job of cfg.scrape_configs) {
    for (const sc of job.static_configs) {
      sc.targets = sc.targets.map((t) => {
        const local = addresses[t];
        if (local === undefined) throw new Error(`${job.job_name}: the test does not know ${t}`);
        return local;
      });
    }
  }
}

/** deploy/prometheus-agent/prometheus-agent.yml, scraping the demo, writing to `central`. */
function agentConfig(ports: { exporter: number; agent: number; central: number }): string {
  const cfg = readConfig('prometheus-agent/prometheus-agent.yml');
  cfg.global.scrape_interval = TEST_INTERVAL;
  cfg.global.scrape_timeout = TEST_INTERVAL;
  rewriteTargets(cfg, {
    'app:9464': `127.0.0.1:${ports.exporter}`,
    'localhost:9090': `127.0.0.1:${ports.agent}`,
  });
  for (const rw of cfg.remote_write ?? []) {
    const url = new URL(rw.url);
    if (url.host !== 'prometheus:9090') throw new Error(`remote_write to ${rw.url}: unknown host`);
    rw.url = `http://127.0.0.1:${ports.central}${url.pathname}`;
  }
  return stringify(cfg);
}

/**
 * deploy/central/prometheus.yml with deploy/prometheus/rules where compose mounts it: a copy in
 * `dir`, whose groups with an interval of their own (the SLO budget, every 2 minutes) evaluate at
 * the test's interval too, so each has run within the test's minute.
 */
function centralConfig(port: number, dir: string): string {
  const cfg = readConfig('central/prometheus.yml');
  cfg.global.scrape_interval = TEST_INTERVAL;
  cfg.global.evaluation_interval = TEST_INTERVAL;
  // docker-compose.remote-write.yml mounts deploy/prometheus/rules at /etc/prometheus/rules,
  // next to the config: the same relative globs resolve from the copy's folder here.
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir, { recursive: true });
  for (const file of readdirSync(join(DEPLOY, 'prometheus', 'rules'))) {
    const text = readFileSync(join(DEPLOY, 'prometheus', 'rules', file), 'utf8');
    writeFileSync(
      join(rulesDir, file),
      text.replace(/^( +)interval: .+$/gm, `$1interval: ${TEST_INTERVAL}`),
    );
  }
  cfg.rule_files = (cfg.rule_files ?? []).map((glob) => join(dir, glob));
  // No Alertmanager here: alert delivery is test/e2e-alerts.test.ts's. Rules still evaluate.
  delete cfg.alerting;
  rewriteTargets(cfg, { 'localhost:9090': `127.0.0.1:${port}` });
  return stringify(cfg);
}

interface Prometheus {
  url: string;
  proc: ChildProcess;
  log: () => string;
}

/**
 * Starts Prometheus with `args(port)` (which also writes the config for that port) on a free
 * port, trying again if another process took the port first.
 */
async function startPrometheus(args: (port: number) => string[]): Promise<Prometheus> {
  let log = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = spawn(prometheusBin!, args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (b: Buffer) => (log += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200 && proc.exitCode === null; i++) {
      const ready = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return { url, proc, log: () => log };
      await sleep(100);
    }
    proc.kill('SIGKILL');
  }
  throw new Error(`Prometheus did not start:\n${log}`);
}

async function stopProcess(proc: ChildProcess | undefined): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query, now or at `time` (Unix seconds). */
async function query(base: string, promql: string, time?: number): Promise<Series[]> {
  const params = new URLSearchParams({ query: promql });
  if (time !== undefined) params.set('time', String(time));
  const res = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: params.toString(),
  });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: Series[] };
  };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error ?? res.status}`);
  return body.data!.result;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value, or fails after `timeoutMs` with `what`. */
async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s: ${what}`);
    await sleep(250);
  }
}

/**
 * Every `record:` of deploy/prometheus/rules, the files the central side loads, as a selector
 * with the rule's own labels: one record name serves several SLOs (`slo="…"`), and each must
 * have samples before the dashboards are asked.
 */
const recordingRules = readdirSync(join(DEPLOY, 'prometheus', 'rules'))
  .filter((f) => f.endsWith('.yml'))
  .flatMap((f) =>
    (
      parse(readFileSync(join(DEPLOY, 'prometheus', 'rules', f), 'utf8')) as {
        groups: { rules: { record?: string; labels?: Record<string, string> }[] }[];
      }
    ).groups.flatMap((g) =>
      g.rules.flatMap((r) => {
        if (r.record === undefined) return [];
        const labels = Object.entries(r.labels ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
        return [labels.length === 0 ? r.record : `${r.record}{${labels.join(',')}}`];
      }),
    ),
  );

describeIf(prometheusBin !== undefined)('remote write: Prometheus agent to a central store', () => {
  let dir = '';
  let demo: RunningApp | undefined;
  let central: Prometheus | undefined;
  let agent: Prometheus | undefined;
  /** The agent's external labels, as committed. */
  const externalLabels = readConfig('prometheus-agent/prometheus-agent.yml').global
    .external_labels as Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bizmon-remote-write-'));
    demo = await startApp(join(ROOT, 'packages/demo/dist/main.js'), {
      env: { PORT: '0', DATABASE_URL: '', REDIS_URL: '' },
      timeoutMs: 90_000,
    });
    const centralFile = join(dir, 'central.yml');
    central = await startPrometheus((port) => {
      writeFileSync(centralFile, centralConfig(port, dir));
      return [
        `--config.file=${centralFile}`,
        `--storage.tsdb.path=${join(dir, 'central')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-remote-write-receiver',
      ];
    });
    const agentFile = join(dir, 'agent.yml');
    const centralPort = Number(new URL(central.url).port);
    agent = await startPrometheus((port) => {
      writeFileSync(
        agentFile,
        agentConfig({ exporter: demo!.exporterPort, agent: port, central: centralPort }),
      );
      return [
        '--enable-feature=agent',
        `--config.file=${agentFile}`,
        `--storage.agent.path=${join(dir, 'agent')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ];
    });
    // One user's day, so the panels of rarer events (a few a minute or an hour in the traffic)
    // have a series within the test's minute: a mistyped password, a top-up, and the slips
    // e2e-alerts makes too (an empty upload, a top-up over the providers' limit).
    const asUser = (path: string, body: string, type = 'application/json') =>
      fetch(`http://127.0.0.1:${demo!.port}${path}`, {
        method: 'POST',
        headers: { 'content-type': type, authorization: 'Bearer rw-user' },
        body,
      }).then((r) => r.status);
    expect(await asUser('/api/v1/auth/register', '{"id":"rw-user"}')).toBe(201);
    expect(await asUser('/api/v1/auth/login', '{"username":"rw-user","password":"typo"}')).toBe(
      401,
    );
    expect(await asUser('/api/v1/files/upload', '', 'application/octet-stream')).toBe(413);
    expect(await asUser('/api/v1/credits/purchase', '{"amount":50000}')).toBe(402);
    // A handler bug and a provider failure: a few an hour each in the healthy traffic.
    expect((await fetch(`http://127.0.0.1:${demo!.port}/api/v1/boom`)).status).toBe(500);
    const fault = (body: object) =>
      fetch(`http://127.0.0.1:${demo!.port}/api/v1/admin/fault`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.status);
    expect(await fault({ aiFailureRate: { flux: 1 } })).toBe(200);
    expect(await asUser('/api/v1/flux/tasks', '{"mode":"fast"}')).toBe(502);
    expect(await fault({})).toBe(200);
    // 1 % of top-ups time out at the simulated provider (503): try again, as a user would.
    let topUp = 0;
    for (let i = 0; i < 5 && topUp !== 200; i++)
      topUp = await asUser('/api/v1/credits/purchase', '{"amount":100}');
    expect(topUp).toBe(200);
  }, 150_000);

  afterAll(async () => {
    await stopProcess(agent?.proc);
    await stopProcess(central?.proc);
    await demo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the agent scrapes the demo but has no query API of its own', async () => {
    const res = await fetch(`${agent!.url}/api/v1/query?query=up`);
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      status: 'error',
      error: 'unavailable with Prometheus Agent',
    });
    // Its targets API stays: the demo's exporter is scraped.
    await until('the agent scraping the demo', 20_000, async () => {
      const targets = (await (await fetch(`${agent!.url}/api/v1/targets`)).json()) as {
        data: { activeTargets: { labels: { job: string }; health: string }[] };
      };
      const health = targets.data.activeTargets.find((t) => t.labels.job === 'bizmon')?.health;
      return health === 'up' ? true : undefined;
    });
  }, 30_000);

  it('the central side holds the demo series with the agent external labels', async () => {
    const up = await until('up{job="bizmon"} on the central side', 60_000, async () => {
      const result = await query(central!.url, 'up{job="bizmon"} == 1');
      return result.length > 0 ? result : undefined;
    });
    expect(up).toHaveLength(1);
    expect(externalLabels).toEqual({ cluster: expect.any(String), replica: expect.any(String) });
    expect(up[0]!.metric).toMatchObject({
      job: 'bizmon',
      instance: `127.0.0.1:${demo!.exporterPort}`,
      ...externalLabels,
    });
    // A figure for deploy/README's "Timing", not a bound: the age of the freshest sample over
    // a little more than one scrape interval. Its minimum is the delivery delay.
    const ages: number[] = [];
    for (let i = 0; i < 28; i++) {
      const [sample] = await query(central!.url, 'time() - timestamp(up{job="bizmon"})');
      ages.push(Number(sample!.value[1]));
      await sleep(200);
    }
    console.log(
      `remote-write: freshest sample on the central side is ${Math.min(...ages).toFixed(2)}` +
        `–${Math.max(...ages).toFixed(2)} s old (scrape every ${TEST_INTERVAL})`,
    );
    // The central side took every sample the agent sent (none rejected, e.g. out of order).
    const own = parseExposition(await (await fetch(`${agent!.url}/metrics`)).text());
    expect(sampleValue(own, 'prometheus_remote_storage_samples_total')).toBeGreaterThan(0);
    expect(sampleValue(own, 'prometheus_remote_storage_samples_failed_total')).toBe(0);
  }, 90_000);

  it('evaluates every rule file of deploy/prometheus/rules, and every recording rule has samples', async () => {
    expect(recordingRules).toContain('http_errors_rate');
    let left: string[] = [];
    await until('samples of every recording rule', 90_000, async () => {
      const counts = await Promise.all(
        recordingRules.map(async (name) => [name, (await query(central!.url, name)).length]),
      );
      left = counts.filter(([, n]) => n === 0).map(([name]) => String(name));
      return left.length === 0 ? true : undefined;
    }).catch(() => undefined);
    expect(left).toEqual([]);

    const rules = (await (await fetch(`${central!.url}/api/v1/rules`)).json()) as {
      data: {
        groups: {
          name: string;
          file: string;
          interval: number;
          rules: { name: string; health: string; lastError?: string }[];
        }[];
      };
    };
    const files = new Set(rules.data.groups.map((g) => g.file.replace(/^.*\//, '')));
    expect([...files].sort()).toEqual(
      readdirSync(join(DEPLOY, 'prometheus', 'rules'))
        .filter((f) => f.endsWith('.yml'))
        .sort(),
    );
    // No rule fails to evaluate; those of groups at the test's interval have all run (a group
    // with its own, longer interval may not have had its first evaluation yet).
    const unhealthy = rules.data.groups.flatMap((g) =>
      g.rules
        .filter((r) => r.health === 'err' || (r.health !== 'ok' && g.interval <= TEST_INTERVAL_S))
        .map((r) => `${g.name}/${r.name}: ${r.health} ${r.lastError ?? ''}`),
    );
    expect(unhealthy).toEqual([]);
  }, 120_000);

  it('watches the agent through its own series: remote-write alerts silent while it writes, the dead-agent rule holds once it stops', async () => {
    const { groups } = parse(
      readFileSync(join(DEPLOY, 'prometheus', 'rules', 'bizmon-alerts.rules.yml'), 'utf8'),
    ) as { groups: { name: string; rules: { alert: string; expr: string }[] }[] };
    const remoteWrite = groups.find((g) => g.name === 'remote_write')!.rules;
    expect(remoteWrite.map((r) => r.alert)).toEqual([
      'RemoteWriteAgentDown',
      'RemoteWriteFailures',
      'RemoteWriteBehind',
    ]);
    // Every series the three rules read arrives from the agent, with its external labels.
    for (const metric of [
      'up',
      'prometheus_remote_storage_samples_total',
      'prometheus_remote_storage_samples_failed_total',
      'prometheus_remote_storage_highest_timestamp_in_seconds',
      'prometheus_remote_storage_queue_highest_sent_timestamp_seconds',
    ]) {
      const series = await until(`${metric} of the agent on the central side`, 30_000, async () => {
        const result = await query(central!.url, `${metric}{job="prometheus-agent"}`);
        return result.length > 0 ? result : undefined;
      });
      expect({ metric, labels: series[0]!.metric }).toEqual({
        metric,
        labels: expect.objectContaining(externalLabels),
      });
    }
    // A healthy agent: none of the expressions holds.
    for (const rule of remoteWrite) {
      expect({ alert: rule.alert, now: await query(central!.url, rule.expr) }).toEqual({
        alert: rule.alert,
        now: [],
      });
    }
    // No sample is written after the last one there is: evaluated 90 s from now, past the
    // rule's silent minute, the dead-agent expression names this agent by its labels.
    const later = Date.now() / 1000 + 90;
    const dead = await query(central!.url, remoteWrite[0]!.expr, later);
    expect(dead.map((s) => s.metric)).toEqual([externalLabels]);
  }, 60_000);

  // After the tests above, which waited for the data.
  it('answers every dashboard query, with data unless allow-listed', async () => {
    const queries = dashboardQueries(join(DEPLOY, 'grafana', 'dashboards'));
    expect(queries.length).toBeGreaterThan(40);
    const empty: string[] = [];
    const failed: string[] = [];
    for (const q of queries) {
      const promql = renderDashboardQuery(q.expr, {
        rateInterval: '1m',
        job: 'bizmon',
        instance: `127.0.0.1:${demo!.exporterPort}`,
      });
      try {
        if ((await query(central!.url, promql)).length === 0 && !(q.where in EMPTY_FOR_THE_DEMO))
          empty.push(`${q.where}: ${promql}`);
      } catch (err) {
        failed.push(`${q.where}: ${(err as Error).message}`);
      }
    }
    expect(failed).toEqual([]);
    expect(empty).toEqual([]);
    const panels = new Set(queries.map((q) => q.where));
    expect(Object.keys(EMPTY_FOR_THE_DEMO).filter((where) => !panels.has(where))).toEqual([]);
  }, 60_000);
});

describeIf(promtoolBin !== undefined)('deploy/prometheus-agent and deploy/central', () => {
  it('pass promtool check config (the agent in agent mode)', () => {
    const check = (args: string[]) =>
      execFileSync(promtoolBin!, ['check', 'config', ...args], { encoding: 'utf8' });
    expect(check(['--agent', join(DEPLOY, 'prometheus-agent', 'prometheus-agent.yml')])).toMatch(
      /SUCCESS/,
    );
    expect(check([join(DEPLOY, 'central', 'prometheus.yml')])).toMatch(/SUCCESS/);
  });

  it('the central store loads every rule file by glob, and scrapes no service', () => {
    const cfg = readConfig('central/prometheus.yml');
    expect(cfg.rule_files).toEqual(['rules/*.yml']);
    expect(cfg.scrape_configs.map((j) => j.job_name)).toEqual(['prometheus']);
  });

  it('the agent scrapes the same jobs as deploy/prometheus, plus itself', () => {
    const jobs = (path: string) => readConfig(path).scrape_configs.map((j) => j.job_name);
    const single = jobs('prometheus/prometheus.yml').filter(
      (j) => j !== 'prometheus' && j !== 'alertmanager',
    );
    expect(jobs('prometheus-agent/prometheus-agent.yml')).toEqual([...single, 'prometheus-agent']);
  });
});

describe('deploy/docker-compose.remote-write.yml', () => {
  interface Service {
    command?: string[];
    volumes?: string[];
  }
  const compose = (file: string) =>
    parse(readFileSync(join(DEPLOY, file), 'utf8')) as { services: Record<string, Service> };
  const base = compose('docker-compose.yml').services;
  const overlay = compose('docker-compose.remote-write.yml').services;
  /** Compose's merge: `command` replaced, `volumes` merged by their target path. */
  const mounts = (name: string): Map<string, string> =>
    new Map(
      [...(base[name]?.volumes ?? []), ...(overlay[name]?.volumes ?? [])].map((v) => {
        const [source, target] = v.split(':') as [string, string];
        return [target, source];
      }),
    );
  const flag = (command: string[] | undefined, name: string) =>
    command?.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);

  it('runs the central config with the receiver on, its rules glob pointing at deploy/prometheus/rules', () => {
    const command = overlay.prometheus!.command;
    expect(command).toContain('--web.enable-remote-write-receiver');
    const config = flag(command, '--config.file')!;
    const volumes = mounts('prometheus');
    expect(volumes.get(config)).toBe('./central/prometheus.yml');
    const [glob] = readConfig('central/prometheus.yml').rule_files!;
    const rulesDir = join(config, '..', glob!.replace(/\/[^/]*$/, ''));
    expect(volumes.get(rulesDir)).toBe('./prometheus/rules');
  });

  it('runs the committed agent config in agent mode, scraping and writing to compose services', () => {
    const command = overlay['prometheus-agent']!.command;
    expect(command).toContain('--enable-feature=agent');
    const data = flag(command, '--storage.agent.path')!;
    const volumes = mounts('prometheus-agent');
    expect(volumes.get(flag(command, '--config.file')!)).toBe(
      './prometheus-agent/prometheus-agent.yml',
    );
    expect(volumes.has(data)).toBe(true);
    const cfg = readConfig('prometheus-agent/prometheus-agent.yml');
    const hosts = [
      ...cfg.scrape_configs.flatMap((j) => j.static_configs.flatMap((sc) => sc.targets)),
      ...(cfg.remote_write ?? []).map((rw) => new URL(rw.url).host),
    ].map((t) => t.replace(/:\d+$/, ''));
    const services = new Set([...Object.keys(base), ...Object.keys(overlay), 'localhost']);
    expect(hosts.filter((h) => !services.has(h))).toEqual([]);
  });
});
