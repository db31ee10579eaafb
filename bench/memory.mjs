// 4. Memory: bytes per series held (10,000 counter series with four labels, after one scrape so
// that bizmon's cached label text counts), bizmon vs prom-client vs the OpenTelemetry SDK; and
// bizmon's heap/RSS through a 100,000-distinct-label flood, which must stay flat at the
// cardinality limit. Each measurement runs in its own process (`--lib`), with --expose-gc.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { emit, median, ROOT } from './lib/common.mjs';

const require = createRequire(`${ROOT}/package.json`);
const baselines = require('./bench/lib/baselines.cjs');
const SERIES = 10_000;
const FLOOD = 100_000;
const lib = process.argv.includes('--lib')
  ? process.argv[process.argv.indexOf('--lib') + 1]
  : undefined;

function heap() {
  for (let i = 0; i < 3; i++) global.gc();
  return process.memoryUsage();
}

const labelsOf = (i) => ['GET', `/api/resource-${i}/:id`, '200', 'user'];

async function perSeries(which) {
  let record;
  let scrape;
  let shutdown = async () => {};
  if (which === 'bizmon') {
    const core = require('@bizmon/core');
    const t = await core.startTelemetry(
      core.resolveConfig({
        otelExporterPrometheusPort: 0,
        otelExporterPrometheusHost: '127.0.0.1',
        bizmonCardinalityLimit: SERIES * 2,
      }),
    );
    record = (i) => core.instruments.http_requests_total.labels(...labelsOf(i)).add(1);
    scrape = () => t.scrape();
    shutdown = () => t.shutdown();
  } else if (which === 'prom-client') {
    const { registry, requests: c } = baselines.promClientHttpMetrics();
    record = (i) => c.labels(...labelsOf(i)).inc();
    scrape = () => registry.metrics();
  } else {
    const { PrometheusExporter, PrometheusSerializer, MeterProvider } =
      baselines.openTelemetrySdk();
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({
      readers: [exporter],
      views: [{ instrumentName: '*', aggregationCardinalityLimit: SERIES * 2 }],
    });
    const c = provider.getMeter('bench').createCounter('http_requests_total');
    record = (i) => {
      const [method, endpoint, status_code, user_role] = labelsOf(i);
      c.add(1, { method, endpoint, status_code, user_role });
    };
    const serializer = new PrometheusSerializer();
    scrape = async () => serializer.serialize((await exporter.collect()).resourceMetrics);
    shutdown = () => provider.shutdown();
  }
  // Warm up code paths and one-time structures before the baseline.
  // The scrape's output is dropped before each reading: an awaited value stays referenced from
  // this async function's frame, and a 1 MB exposition would count as ~100 bytes per series.
  const scrapeAndDrop = () => Promise.resolve(scrape()).then(() => undefined);
  record(-1);
  await scrapeAndDrop();
  const before = heap();
  for (let i = 0; i < SERIES; i++) record(i);
  await scrapeAndDrop();
  const after = heap();
  await shutdown();
  return { bytesPerSeries: (after.heapUsed - before.heapUsed) / SERIES };
}

async function flood() {
  const core = require('@bizmon/core');
  // The default cardinality limit (BIZMON_CARDINALITY_LIMIT, 2000).
  const t = await core.startTelemetry(
    core.resolveConfig({ otelExporterPrometheusPort: 0, otelExporterPrometheusHost: '127.0.0.1' }),
  );
  process.stderr.write = () => true; // the overflow warning
  const points = [];
  const sample = async (n) => {
    await t.scrape();
    const m = heap();
    points.push({ labelSets: n, heapUsed: m.heapUsed, rss: m.rss });
  };
  await sample(0);
  for (let i = 1; i <= FLOOD; i++) {
    core.instruments.http_requests_total.labels('GET', `/flood/${i}`, '200', `role-${i}`).add(1);
    if (i === 2_000 || i === 10_000 || i === 50_000 || i === FLOOD) await sample(i);
  }
  const series = core.instruments.http_requests_total.size;
  await t.shutdown();
  return { points, seriesHeld: series, limit: t.config.cardinalityLimit };
}

if (lib) {
  emit(lib === 'flood' ? await flood() : await perSeries(lib));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const run = (which) => {
  const out = execFileSync(process.execPath, ['--expose-gc', self, '--lib', which], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(
    out
      .split('\n')
      .find((l) => l.startsWith('RESULT '))
      .slice(7),
  );
};
// Median of three processes each: now and then a reading is ~25 bytes per series lower,
// whichever library (a collection freeing something allocated before the baseline).
const result = { series: SERIES, perSeries: {}, perSeriesRuns: {} };
for (const which of ['bizmon', 'prom-client', 'OpenTelemetry SDK']) {
  const runs = [0, 1, 2].map(() => run(which).bytesPerSeries);
  result.perSeriesRuns[which] = runs;
  result.perSeries[which] = median(runs);
}
result.flood = run('flood');
emit(result);
