// 3. Scrape: time and bytes to produce /metrics with 1,000 / 10,000 / 50,000 series, bizmon (in
// each format it serves: text 0.0.4, OpenMetrics, protobuf, and OpenMetrics gzipped) vs
// prom-client's register.metrics() vs the stock OpenTelemetry exporter (collect + serialise, as
// its request handler does), plus the alternative bizmon used before: its MetricProducer through
// OpenTelemetry's PrometheusSerializer. Rounds rotate the order; figures are medians. Then the
// longest event-loop block of each during a 50,000-series scrape, and bizmon's scrape under HTTP
// load (event-loop delay and request latency measured from a separate autocannon process).
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { BENCH_DIR, emit, freePort, ROOT, rotate, runJson, summary } from './lib/common.mjs';

const require = createRequire(`${ROOT}/package.json`);
const quick = process.argv.includes('--quick');
// `--only <variant>`: a process holding only that library's 50,000 series, for the event-loop
// block figures (a heap shared with the other libraries would lengthen every GC pause).
const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1]
  : undefined;
const ROUNDS = quick ? 3 : 7;
// Quick mode compares at 1,000 and 10,000 series; the 50,000-series block figure always runs (bizmon).
const SIZES = quick && !process.argv.includes('--only') ? [1_000, 10_000] : [1_000, 10_000, 50_000];

const core = require('@bizmon/core');
const internal = require('@bizmon/core/internal');
const baselines = require('./bench/lib/baselines.cjs');
const { PrometheusExporter, PrometheusSerializer, MeterProvider } = baselines.openTelemetrySdk();

const telemetry = await core.startTelemetry(
  core.resolveConfig({
    otelExporterPrometheusPort: 0,
    otelExporterPrometheusHost: '127.0.0.1',
    otelServiceName: 'bench',
    bizmonCardinalityLimit: 200_000,
  }),
);

const BUCKETS = baselines.HTTP_BUCKETS;
const { registry, requests: pcCounter, duration: pcHistogram } = baselines.promClientHttpMetrics();

const otelPort = await freePort();
const otelExporter = new PrometheusExporter({
  preventServerStart: true,
  host: '127.0.0.1',
  port: otelPort,
});
const otelProvider = new MeterProvider({
  readers: [otelExporter],
  views: [{ instrumentName: '*', aggregationCardinalityLimit: 1_000_000 }],
});
const meter = otelProvider.getMeter('app');
const otelCounter = meter.createCounter('http_requests_total', {
  description: 'HTTP requests served.',
});
const otelHistogram = meter.createHistogram('http_request_duration_seconds', {
  description: 'HTTP request duration in seconds.',
  unit: 's',
  advice: { explicitBucketBoundaries: BUCKETS },
});
const otelSerializer = new PrometheusSerializer();

const producer = new internal.BizmonMetricProducer('bench');
const viaOtelSerializer = new PrometheusSerializer('', false, undefined, false, true);

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const ROLES = ['user', 'admin', 'anonymous', 'vip'];
let created = 0;
/** Grows every library to `total` series: 80% counter series with 4 labels, 20% histogram series with 2. */
function grow(total, onlyVariant) {
  const bizmon = !onlyVariant || onlyVariant === 'bizmon' || onlyVariant.startsWith('bizmon ');
  const prom = !onlyVariant || onlyVariant === 'prom-client';
  const otel = !onlyVariant || onlyVariant === 'OpenTelemetry exporter';
  for (; created < total; created++) {
    const i = created;
    if (i % 5 === 4) {
      const method = METHODS[i & 3];
      const endpoint = `/api/resource-${i}/:id`;
      for (const v of [0.003, 0.07, 0.3]) {
        if (bizmon)
          core.instruments.http_request_duration_seconds.labels(method, endpoint).observe(v);
        if (prom) pcHistogram.labels(method, endpoint).observe(v);
        if (otel) otelHistogram.record(v, { method, endpoint });
      }
    } else {
      const labels = [
        METHODS[i & 3],
        `/api/resource-${i}/:id`,
        String(200 + (i % 3)),
        ROLES[(i >> 2) & 3],
      ];
      if (bizmon) core.instruments.http_requests_total.labels(...labels).add(i % 17);
      if (prom) pcCounter.labels(...labels).inc(i % 17);
      if (otel)
        otelCounter.add(i % 17, {
          method: labels[0],
          endpoint: labels[1],
          status_code: labels[2],
          user_role: labels[3],
        });
    }
  }
}

const gzip = promisify(zlib.gzip);
const variants = {
  bizmon: () => telemetry.scrape(),
  // The other formats /metrics serves (chosen by Accept), and the gzip Prometheus asks for
  // (level 1, as /metrics compresses; the time includes the compression on libuv's pool).
  'bizmon OpenMetrics': () => telemetry.scrapeAs('openmetrics'),
  'bizmon protobuf': () => telemetry.scrapeAs('protobuf'),
  'bizmon OpenMetrics gzip': async () =>
    (await gzip(await telemetry.scrapeAs('openmetrics'), { level: 1 })).length,
  'prom-client': () => registry.metrics(),
  'OpenTelemetry exporter': async () =>
    otelSerializer.serialize((await otelExporter.collect()).resourceMetrics),
  'bizmon via OTel serializer (before)': async () =>
    viaOtelSerializer.serialize((await producer.collect()).resourceMetrics),
};

/** Runs `fn` (which resolves with the text or its size) while a 1 ms interval measures the longest gaps between its ticks. */
async function withBlockProbe(fn) {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let longest = 0;
  let longestCpu = 0;
  const tick = () => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    longest = Math.max(longest, now - last);
    longestCpu = Math.max(longestCpu, (cpu.user + cpu.system) / 1000);
    last = now;
    lastCpu = process.cpuUsage();
  };
  const probe = setInterval(tick, 1);
  await new Promise((r) => setTimeout(r, 5));
  longest = longestCpu = 0;
  const t0 = performance.now();
  const text = await fn();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 3));
  clearInterval(probe);
  tick();
  return {
    ms,
    bytes: typeof text === 'number' ? text : Buffer.byteLength(text),
    longestBlockMs: longest,
    longestBlockCpuMs: longestCpu,
  };
}

if (only) {
  await blockOnly(only);
  process.exit(0);
}

/** GET `url` from a separate process (curl), so the client's parsing is not on this event loop. */
function curl(url) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{size_download}', url], (err, stdout) =>
      err ? reject(err) : resolve(Number(stdout)),
    );
  });
}

/** Serves `variant`'s exposition over HTTP the way that library does; resolves with its URL. */
async function serveVariant(variant) {
  if (variant === 'bizmon') return `http://127.0.0.1:${telemetry.exporterAddress.port}/metrics`;
  if (variant === 'OpenTelemetry exporter') {
    await otelExporter.startServer();
    return `http://127.0.0.1:${otelPort}/metrics`;
  }
  const server = createServer(async (req, res) => {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(text);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${server.address().port}/metrics`;
}

/**
 * The longest event-loop blocks while `variant`'s /metrics with 50,000 series is fetched over
 * HTTP, alone in this process. Each gap between ticks of a 1 ms interval is measured in wall
 * time and in this process's CPU time (the latter leaves out time taken by other processes on a
 * busy machine; it includes GC helper threads).
 */
async function blockOnly(variant) {
  grow(50_000, variant);
  const url = await serveVariant(variant);
  const fetchIt = () => curl(url);
  await withBlockProbe(fetchIt); // warm-up (and builds bizmon's label-text cache once)
  // Fewer rounds for the slow producers: each fetch of theirs takes seconds.
  const rounds = [];
  for (let round = 0; round < (variant === 'bizmon' ? ROUNDS : Math.min(ROUNDS, 5)); round++) {
    global.gc?.();
    const r = await withBlockProbe(fetchIt);
    // The same probe over the same length of time with nothing to do: the machine's noise floor.
    r.idle = await withBlockProbe(
      () => new Promise((resolve) => setTimeout(() => resolve(0), r.ms)),
    );
    rounds.push(r);
  }
  const result = {
    variant,
    series: created,
    bytes: rounds[0].bytes,
    ms: summary(rounds.map((r) => r.ms)),
    longestBlockMs: summary(rounds.map((r) => r.longestBlockMs)),
    longestBlockCpuMs: summary(rounds.map((r) => r.longestBlockCpuMs)),
    idleLongestBlockMs: summary(rounds.map((r) => r.idle.longestBlockMs)),
  };
  if (variant === 'bizmon') result.underLoad = await scrapeUnderLoad(url);
  emit(result);
  await telemetry.shutdown();
  await otelProvider.shutdown();
  process.exit(0);
}

/** A JSON route in this process answers autocannon (another process), without and with /metrics being scraped. */
async function scrapeUnderLoad(metricsUrl) {
  const body = JSON.stringify({ ok: true });
  const server = createServer((req, res) => {
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
      // One scrape a second: far more often than Prometheus would, to catch several per run.
      while (scraping && !stop) {
        await curl(metricsUrl);
        scrapes++;
        await new Promise((r) => setTimeout(r, 1000));
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
  return underLoad;
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

emit({ rounds: ROUNDS, sizes, series: created });
await telemetry.shutdown();
await otelProvider.shutdown();
