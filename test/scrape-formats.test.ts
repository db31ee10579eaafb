/**
 * /metrics in every exposition format, scraped by the real Prometheus (Debian's): text 0.0.4,
 * OpenMetrics 1.0 and protobuf, from the exporter and from createMonitoringHandler, gzip as
 * Prometheus asks. A recording proxy between Prometheus and the app logs the Accept headers
 * Prometheus sends and the Content-Type and Content-Encoding the app answers, so each job is
 * known to have been served in the format it checks. Prometheus 2.42 cannot be told to ask for
 * text 0.0.4 (scrape_protocols came in 2.49), so the proxy's `as-text` route rewrites Accept to
 * what a text-only scraper sends. Checks go through Prometheus' HTTP API: up, samples scraped,
 * no scrape error, and the values of counters, gauges and histogram buckets.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf, hasBinary } from './support/env';
import { freePort, startApp, type RunningApp } from './support/apps';

const available = hasBinary('prometheus');
const HOSTILE = 'a\\b"c\nd é';

interface Exchange {
  path: string;
  accept: string;
  acceptEncoding: string;
  contentType: string;
  contentEncoding: string;
}

/** Forwards `/<prom>/<as-is|as-text>/<exporter|handler>/<path>` to the app and records it. */
function recordingProxy(app: RunningApp, log: Exchange[]): Server {
  return createServer((req, res) => {
    const m = /^\/(\w+)\/(as-is|as-text)\/(exporter|handler)(\/.*)$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const headers = { ...req.headers };
    if (m[2] === 'as-text') headers.accept = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';
    const port = m[3] === 'exporter' ? app.exporterPort : app.port;
    const upstream = request({ host: '127.0.0.1', port, path: m[4], headers }, (up) => {
      log.push({
        path: req.url!,
        accept: String(req.headers.accept),
        acceptEncoding: String(req.headers['accept-encoding']),
        contentType: String(up.headers['content-type']),
        contentEncoding: String(up.headers['content-encoding']),
      });
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
}

interface RunningPrometheus {
  url: string;
  proc: ChildProcess;
  dir: string;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const got = await probe();
      if (got !== undefined) return got;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen in ${ms} ms${last ? `: ${String(last)}` : ''}`);
}

async function startPrometheus(
  name: string,
  proxyPort: number,
  jobs: Record<string, string>,
  flags: string[],
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), `bizmon-formats-${name}-`));
  const scrapeConfigs = Object.entries(jobs)
    .map(
      ([job, path]) =>
        `  - job_name: ${job}\n    metrics_path: /${name}/${path}\n` +
        `    static_configs: [{ targets: ['127.0.0.1:${proxyPort}'] }]\n`,
    )
    .join('');
  // Every 2 s, with as long to answer: a loaded CI machine must not turn into a scrape error.
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\nscrape_configs:\n${scrapeConfigs}`,
  );
  const port = await freePort();
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...flags,
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  await until(`Prometheus ${name} ready`, 30_000, async () =>
    (await fetch(`${url}/-/ready`)).ok ? true : undefined,
  );
  return { url, proc, dir };
}

interface Target {
  labels: { job: string };
  health: string;
  lastError: string;
  lastScrape: string;
}

async function targets(prom: RunningPrometheus): Promise<Target[]> {
  const body = (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as {
    data: { activeTargets: Target[] };
  };
  return body.data.activeTargets;
}

/** Values of an instant query, as `labels → value` (labels JSON without __name__ and instance). */
async function query(prom: RunningPrometheus, expr: string): Promise<Map<string, number>> {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success') throw new Error(`query ${expr} failed`);
  return new Map(
    body.data.result.map(({ metric, value }) => {
      const labels = { ...metric };
      delete labels.__name__;
      delete labels.instance;
      return [JSON.stringify(labels), Number(value[1])];
    }),
  );
}

async function one(prom: RunningPrometheus, expr: string): Promise<number | undefined> {
  const values = [...(await query(prom, expr)).values()];
  if (values.length > 1) throw new Error(`${expr} matched ${values.length} series`);
  return values[0];
}

/** The checks every job must pass, whatever the format it was served in. */
async function expectSeries(
  prom: RunningPrometheus,
  job: string,
  protobuf: boolean,
): Promise<void> {
  const j = `job="${job}"`;
  expect(await one(prom, `up{${j}}`)).toBe(1);
  const scraped = await one(prom, `scrape_samples_scraped{${j}}`);
  expect(scraped).toBeGreaterThanOrEqual(30);
  // Counters.
  expect(
    await one(prom, `http_requests_total{${j},endpoint="/orders/:id",user_role="admin"}`),
  ).toBe(3);
  expect(await one(prom, `http_requests_total{${j},endpoint="/orders",status_code="500"}`)).toBe(
    0.5,
  );
  const failures = await query(prom, `login_failures_total{${j}}`);
  expect([...failures]).toEqual([[JSON.stringify({ job, reason: HOSTILE }), 2]]);
  // Histogram: count, sum and every cumulative bucket.
  const h = `${j},method="GET",endpoint="/orders/:id"`;
  expect(await one(prom, `http_request_duration_seconds_count{${h}}`)).toBe(2);
  expect(await one(prom, `http_request_duration_seconds_sum{${h}}`)).toBeCloseTo(30.2);
  const buckets = await query(prom, `http_request_duration_seconds_bucket{${h}}`);
  const byLe = Object.fromEntries(
    [...buckets].map(([labels, v]) => [(JSON.parse(labels) as { le: string }).le, v]),
  );
  // From protobuf, Prometheus 2.x writes `le` itself, whole numbers as `1.0`; from text it
  // keeps the exposed `le="1"` (Prometheus 3 normalises both).
  const whole = (n: number): string => (protobuf ? n.toFixed(1) : String(n));
  expect(byLe).toEqual({
    '0.01': 0,
    '0.05': 0,
    '0.1': 0,
    '0.25': 1,
    '0.5': 1,
    [whole(1)]: 1,
    '2.5': 1,
    [whole(5)]: 1,
    [whole(10)]: 1,
    '+Inf': 2,
  });
  // Gauges, labelled and not.
  expect(await one(prom, `db_connection_pool_usage{${j},pool="default"}`)).toBe(0.25);
  expect(await one(prom, `db_connection_pool_size{${j},pool="default"}`)).toBe(10);
  // The app's own OpenTelemetry instruments and target_info.
  expect(await one(prom, `app_jobs_total{${j},queue="q\\"1"}`)).toBe(5);
  const le1 = protobuf ? '1.0' : '1';
  expect(await one(prom, `app_job_duration_bucket{${j},queue="q\\"1",le="${le1}"}`)).toBe(1);
  expect(await one(prom, `app_job_duration_bucket{${j},queue="q\\"1",le="+Inf"}`)).toBe(2);
  expect(await one(prom, `app_job_duration_count{${j},queue="q\\"1"}`)).toBe(2);
  expect(await one(prom, `target_info{${j}}`)).toBe(1);
}

describeIf(available)('every exposition format through the real Prometheus', () => {
  let app: RunningApp;
  let proxy: Server;
  const log: Exchange[] = [];
  const proms: Record<string, RunningPrometheus> = {};
  const jobs = {
    exporter: 'as-is/exporter/metrics',
    handler: 'as-is/handler/monitoring/metrics',
    text: 'as-text/exporter/metrics',
  };

  beforeAll(async () => {
    app = await startApp(join(__dirname, 'fixtures', 'formats-app.cjs'));
    proxy = recordingProxy(app, log);
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyPort = (proxy.address() as { port: number }).port;
    proms.classic = await startPrometheus('classic', proxyPort, jobs, []);
    proms.native = await startPrometheus('native', proxyPort, jobs, [
      '--enable-feature=native-histograms',
    ]);
    // Every target scraped at least twice, so the checks read settled values.
    for (const prom of Object.values(proms)) {
      const seen = new Map<string, string>();
      await until('every target scraped twice', 60_000, async () => {
        const all = await targets(prom);
        const settled = all.filter((t) => {
          // The first up scrape seen, then a later one.
          const first = seen.get(t.labels.job);
          if (first === undefined && t.health === 'up') seen.set(t.labels.job, t.lastScrape);
          return t.health === 'up' && first !== undefined && first !== t.lastScrape;
        });
        if (all.length === 3 && settled.length === 3) return true;
        throw new Error(JSON.stringify(all.map((t) => [t.labels.job, t.health, t.lastError])));
      });
    }
  }, 120_000);

  afterAll(async () => {
    for (const prom of Object.values(proms)) {
      prom.proc.kill('SIGTERM');
      await new Promise((r) => (prom.proc.exitCode === null ? prom.proc.once('exit', r) : r(0)));
      rmSync(prom.dir, { recursive: true, force: true });
    }
    await new Promise((r) => proxy?.close(r));
    await app?.stop();
  }, 60_000);

  test('Prometheus 2.42 asks for OpenMetrics first, protobuf first with native histograms, always gzip', () => {
    const version = execFileSync('prometheus', ['--version'], { encoding: 'utf8' });
    expect(version).toMatch(/version 2\.\d+/);
    const classic = log.find((e) => e.path.startsWith('/classic/as-is/'))!;
    const native = log.find((e) => e.path.startsWith('/native/as-is/'))!;
    process.stdout.write(
      `${version.split('\n')[0]}\n  Accept (default): ${classic.accept}\n` +
        `  Accept (native-histograms): ${native.accept}\n`,
    );
    expect(classic.accept.split(',')[0]).toBe('application/openmetrics-text;version=1.0.0');
    expect(native.accept.split(',')[0]).toBe(
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
    );
    expect(classic.acceptEncoding).toBe('gzip');
    expect(native.acceptEncoding).toBe('gzip');
  });

  test('each job was served in the format it checks, gzip-compressed', () => {
    const servedAs = (prefix: string): Set<string> =>
      new Set(log.filter((e) => e.path.startsWith(prefix)).map((e) => e.contentType));
    const om = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
    const pb =
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
    const text = 'text/plain; version=0.0.4; charset=utf-8';
    expect(servedAs('/classic/as-is/')).toEqual(new Set([om]));
    expect(servedAs('/native/as-is/')).toEqual(new Set([pb]));
    expect(servedAs('/classic/as-text/')).toEqual(new Set([text]));
    expect(servedAs('/native/as-text/')).toEqual(new Set([text]));
    expect(new Set(log.map((e) => e.contentEncoding))).toEqual(new Set(['gzip']));
  });

  test.each([
    ['OpenMetrics', 'classic', 'exporter'],
    ['OpenMetrics', 'classic', 'handler'],
    ['text 0.0.4', 'classic', 'text'],
    ['protobuf', 'native', 'exporter'],
    ['protobuf', 'native', 'handler'],
    ['text 0.0.4', 'native', 'text'],
  ])('%s (%s Prometheus, %s job): up, no scrape error, every value', async (_f, which, job) => {
    const prom = proms[which]!;
    const target = (await targets(prom)).find((t) => t.labels.job === job)!;
    expect(target.health).toBe('up');
    expect(target.lastError).toBe('');
    await expectSeries(prom, job, which === 'native' && job !== 'text');
  });

  test('OpenMetrics carries _created for counters and histograms; text and protobuf add no series', async () => {
    // Prometheus 2.42 stores an OpenMetrics `_created` sample as a series of its own; from
    // protobuf it reads no created timestamp, and text has none.
    const classic = proms.classic!;
    const now = Date.now() / 1000;
    for (const job of ['exporter', 'handler']) {
      const counter = await one(
        classic,
        `http_requests_created{job="${job}",endpoint="/orders/:id",user_role="admin"}`,
      );
      expect(counter).toBeGreaterThan(now - 600);
      expect(counter).toBeLessThanOrEqual(now);
      const histogram = await one(
        classic,
        `http_request_duration_seconds_created{job="${job}",endpoint="/orders/:id"}`,
      );
      expect(histogram).toBeGreaterThan(now - 600);
    }
    expect((await query(classic, '{__name__=~".+_created",job="text"}')).size).toBe(0);
    expect((await query(proms.native!, '{__name__=~".+_created"}')).size).toBe(0);
  });
});
