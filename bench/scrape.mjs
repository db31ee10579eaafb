// 3. Scrape: time and bytes to produce /metrics with 1,000 / 10,000 / 50,000 series, bizmon vs
// prom-client's register.metrics() vs the stock OpenTelemetry exporter (collect + serialise, as
// its request handler does), plus the alternative bizmon used before: its MetricProducer through
// OpenTelemetry's PrometheusSerializer. Rounds rotate the order; figures are medians. Then the
// longest event-loop block of each during a 50,000-series scrape, and bizmon's scrape under HTTP
// load (event-loop delay and request latency measured from a separate autocannon process).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BENCH_DIR, emit, ROOT, rotate, runJson, summary } from './lib/common.mjs';

const require = createRequire(`${ROOT}/package.json`);
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const SIZES = [1_000, 10_000, 50_000];

const core = require('@bizmon/core');
const client = require('prom-client');
const fromCore = createRequire(require.resolve('@bizmon/core/package.json'));
const exporterPath = fromCore.resolve('@opentelemetry/exporter-prometheus');
const { PrometheusExporter, PrometheusSerializer } = require(exporterPath);
const { MeterProvider } = createRequire(exporterPath)('@opentelemetry/sdk-metrics');

const telemetry = await core.startTelemetry(
  core.resolveConfig({
    otelExporterPrometheusPort: 0,
    otelExporterPrometheusHost: '127.0.0.1',
    otelServiceName: 'bench',
    bizmonCardinalityLimit: 200_000,
  }),
);

const BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const registry = new client.Registry();
const pcCounter = new client.Counter({ name: 'http_requests_total', help: 'HTTP requests served.', labelNames: ['method', 'endpoint', 'status_code', 'user_role'], registers: [registry] });
const pcHistogram = new client.Histogram({ name: 'http_request_duration_seconds', help: 'HTTP request duration in seconds.', labelNames: ['method', 'endpoint'], buckets: BUCKETS, registers: [registry] });

const otelExporter = new PrometheusExporter({ preventServerStart: true });
const otelProvider = new MeterProvider({
  readers: [otelExporter],
  views: [{ instrumentName: '*', aggregationCardinalityLimit: 1_000_000 }],
});
const meter = otelProvider.getMeter('app');
const otelCounter = meter.createCounter('http_requests_total', { description: 'HTTP requests served.' });
const otelHistogram = meter.createHistogram('http_request_duration_seconds', { description: 'HTTP request duration in seconds.', unit: 's', advice: { explicitBucketBoundaries: BUCKETS } });
const otelSerializer = new PrometheusSerializer();

const producer = new core.BizmonMetricProducer('bench');
const viaOtelSerializer = new PrometheusSerializer('', false, undefined, false, true);

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const ROLES = ['user', 'admin', 'anonymous', 'vip'];
let created = 0;
/** Grows every library to `total` series: 80% counter series with 4 labels, 20% histogram series with 2. */
function grow(total) {
  for (; created < total; created++) {
    const i = created;
    if (i % 5 === 4) {
      const method = METHODS[i & 3];
      const endpoint = `/api/resource-${i}/:id`;
      for (const v of [0.003, 0.07, 0.3]) {
        core.instruments.http_request_duration_seconds.labels(method, endpoint).observe(v);
        pcHistogram.labels(method, endpoint).observe(v);
        otelHistogram.record(v, { method, endpoint });
      }
    } else {
      const labels = [METHODS[i & 3], `/api/resource-${i}/:id`, String(200 + (i % 3)), ROLES[(i >> 2) & 3]];
      core.instruments.http_requests_total.labels(...labels).add(i % 17);
      pcCounter.labels(...labels).inc(i % 17);
      otelCounter.add(i % 17, { method: labels[0], endpoint: labels[1], status_code: labels[2], user_role: labels[3] });
    }
  }
}

const variants = {
  bizmon: () => telemetry.scrape(),
  'prom-client': () => registry.metrics(),
  'OpenTelemetry exporter': async () => otelSerializer.serialize((await otelExporter.collect()).resourceMetrics),
  'bizmon via OTel serializer (before)': async () => viaOtelSerializer.serialize((await producer.collect()).resourceMetrics),
};

/** Runs `fn` while a 1 ms interval measures the longest gap between its ticks. */
async function withBlockProbe(fn) {
  let last = performance.now();
  let longest = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 5));
  last = performance.now();
  const t0 = performance.now();
  const text = await fn();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 3));
  clearInterval(probe);
  return { ms, bytes: Buffer.byteLength(text), longestBlockMs: Math.max(longest, performance.now() - last) };
}

const sizes = [];
for (const size of SIZES) {
  grow(size);
  const names = Object.keys(variants);
  for (const n of names) await variants[n](); // warm-up (and builds bizmon's label-text cache once)
  const raw = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of rotate(names, round)) {
      global.gc?.();
      raw[n].push(await withBlockProbe(variants[n]));
    }
  }
  const out = { series: size, variants: {} };
  for (const n of names) {
    out.variants[n] = {
      ms: summary(raw[n].map((r) => r.ms)),
      bytes: raw[n][0].bytes,
      longestBlockMs: summary(raw[n].map((r) => r.longestBlockMs)),
      vsPromClient: summary(raw[n].map((r, i) => r.ms / raw['prom-client'][i].ms)),
    };
  }
  sizes.push(out);
}

// Under load: a JSON route in this process answers autocannon while /metrics is scraped.
const body = JSON.stringify({ ok: true });
const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    telemetry.scrape().then((text) => res.end(text));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const underLoad = {};
for (const scraping of [false, true]) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let scrapes = 0;
  let stop = false;
  const scraper = (async () => {
    while (scraping && !stop) {
      await telemetry.scrape();
      scrapes++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const load = await runJson(join(BENCH_DIR, 'fixtures', 'load.cjs'), {
    args: [`http://127.0.0.1:${port}/`, quick ? '2' : '5', '10'],
  });
  stop = true;
  await scraper;
  histogram.disable();
  underLoad[scraping ? 'scraping' : 'idle'] = {
    scrapes,
    rps: load.rps,
    p50: load.p50,
    p99: load.p99,
    loopDelayMaxMs: histogram.max / 1e6,
    loopDelayP99Ms: histogram.percentile(99) / 1e6,
  };
}
server.close();

emit({ rounds: ROUNDS, sizes, underLoad, series: created });
await telemetry.shutdown();
await otelProvider.shutdown();
