// 2. Helper hot path: ns per call of bizmon's business helpers and of one labelled counter
// increment / histogram observation, vs prom-client and vs raw OpenTelemetry API calls with
// attribute objects. Every case gets its own compiled loop (its own call-site feedback); rounds
// rotate the order of cases, the first rounds are warm-up, and figures are medians of rounds.
import { createRequire } from 'node:module';
import { emit, median, ROOT, rotate, summary } from './lib/common.mjs';

const require = createRequire(`${ROOT}/package.json`);
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 15;
const WARMUP_ROUNDS = 3;
const ROUND_MS = quick ? 30 : 100;

const core = require('@bizmon/core');
const business = (() => {
  try {
    const b = require('@bizmon/business');
    return typeof b.aiTasks?.succeeded === 'function' ? b : undefined;
  } catch {
    return undefined;
  }
})();
const baselines = require('./bench/lib/baselines.cjs');
const { PrometheusExporter, MeterProvider } = baselines.openTelemetrySdk();

const telemetry = await core.startTelemetry(
  core.resolveConfig({
    otelExporterPrometheusPort: 0,
    otelExporterPrometheusHost: '127.0.0.1',
    otelServiceName: 'bench',
  }),
);
if (business) await business.startUserActivity();

// Four label sets used in turn by every case (a realistic mix, the same for all libraries).
const METHODS = ['GET', 'POST', 'GET', 'PUT'];
const ENDPOINTS = ['/api/orders/:id', '/api/orders', '/api/users/:id', '/api/credits'];
const STATUS = ['200', '201', '200', '204'];
const ROLES = ['user', 'admin', 'user', 'anonymous'];
const USER_IDS = Array.from({ length: 1024 }, (_, i) => `user-${i}`);

const { requests: pcCounter, duration: pcHistogram } = baselines.promClientHttpMetrics();

const otelProvider = new MeterProvider({
  readers: [new PrometheusExporter({ preventServerStart: true })],
});
const meter = otelProvider.getMeter('bench');
const otelCounter = meter.createCounter('http_requests_total');
const otelHistogram = meter.createHistogram('http_request_duration_seconds', {
  advice: { explicitBucketBoundaries: baselines.HTTP_BUCKETS },
});
const cachedAttributes = METHODS.map((m, i) => ({
  method: m,
  endpoint: ENDPOINTS[i],
  status_code: STATUS[i],
  user_role: ROLES[i],
}));

const { instruments } = core;
/** name → [group, function(i)]; the group names the comparison the figure belongs to. */
const cases = {
  'bizmon counter.labels(4).add()': [
    'counter',
    (i) =>
      instruments.http_requests_total
        .labels(METHODS[i & 3], ENDPOINTS[i & 3], STATUS[i & 3], ROLES[i & 3])
        .add(1),
  ],
  'prom-client counter.labels(4).inc()': [
    'counter',
    (i) => pcCounter.labels(METHODS[i & 3], ENDPOINTS[i & 3], STATUS[i & 3], ROLES[i & 3]).inc(),
  ],
  'prom-client counter.inc({4 labels})': [
    'counter',
    (i) =>
      pcCounter.inc(
        {
          method: METHODS[i & 3],
          endpoint: ENDPOINTS[i & 3],
          status_code: STATUS[i & 3],
          user_role: ROLES[i & 3],
        },
        1,
      ),
  ],
  'OpenTelemetry counter.add(1, {4 attrs})': [
    'counter',
    (i) =>
      otelCounter.add(1, {
        method: METHODS[i & 3],
        endpoint: ENDPOINTS[i & 3],
        status_code: STATUS[i & 3],
        user_role: ROLES[i & 3],
      }),
  ],
  'OpenTelemetry counter.add(1, cached attrs)': [
    'counter',
    (i) => otelCounter.add(1, cachedAttributes[i & 3]),
  ],
  'bizmon histogram.labels(2).observe()': [
    'histogram',
    (i) =>
      instruments.http_request_duration_seconds
        .labels(METHODS[i & 3], ENDPOINTS[i & 3])
        .observe(0.042),
  ],
  // The same with BIZMON_NATIVE_HISTOGRAMS=true (native buckets beside the classic ones): the
  // flag is switched on for this case's rounds only (see timeRound).
  'bizmon histogram.labels(2).observe(), native histograms on': [
    'histogram',
    (i) =>
      instruments.http_request_duration_seconds
        .labels(METHODS[i & 3], ENDPOINTS[i & 3])
        .observe(0.042),
    { nativeHistograms: true },
  ],
  'prom-client histogram.labels(2).observe()': [
    'histogram',
    (i) => pcHistogram.labels(METHODS[i & 3], ENDPOINTS[i & 3]).observe(0.042),
  ],
  'prom-client histogram.observe({2 labels})': [
    'histogram',
    (i) => pcHistogram.observe({ method: METHODS[i & 3], endpoint: ENDPOINTS[i & 3] }, 0.042),
  ],
  'OpenTelemetry histogram.record(v, {2 attrs})': [
    'histogram',
    (i) => otelHistogram.record(0.042, { method: METHODS[i & 3], endpoint: ENDPOINTS[i & 3] }),
  ],
};
if (business) {
  const { aiTasks, credits, users } = business;
  cases['bizmon aiTasks.succeeded()'] = [
    'helper',
    (i) =>
      aiTasks.succeeded({
        service: 'openai',
        mode: 'chat',
        userRole: ROLES[i & 3],
        durationSeconds: 2.5,
      }),
  ];
  cases['bizmon credits.consumed()'] = [
    'helper',
    (i) => credits.consumed({ amount: 10, userRole: ROLES[i & 3] }),
  ];
  cases['bizmon users.seen()'] = ['helper', (i) => users.seen(USER_IDS[i & 1023])];
}

// The process state of @bizmon/core (state.ts), whose nativeHistograms flag a case may set.
const coreState =
  globalThis[
    Object.getOwnPropertySymbols(globalThis).find((s) =>
      /^bizmon\.core\.v\d+$/.test(Symbol.keyFor(s) ?? ''),
    )
  ];

// A fresh function per case, so each loop's call site only ever sees its own callee.
const makeLoop = () =>
  new Function(
    'fn',
    'n',
    'let sink = 0; for (let i = 0; i < n; i++) { const r = fn(i); if (r !== undefined) sink++; } return sink;',
  );
const loops = Object.fromEntries(Object.keys(cases).map((name) => [name, makeLoop()]));

// CPU time of the process, not wall time: a benchmark preempted by other processes on a busy
// 2-core machine would otherwise count their time as its own. (GC helper threads count too.)
function timeRound(name, n) {
  coreState.nativeHistograms = cases[name][2]?.nativeHistograms === true;
  const t0 = process.cpuUsage();
  const sink = loops[name](cases[name][1], n);
  const used = process.cpuUsage(t0);
  const ns = (used.user + used.system) * 1000;
  if (sink < 0) console.log(sink); // keeps the result alive
  return ns / n;
}

// Calibrate iterations per case to about ROUND_MS per round.
const iterations = {};
for (const name of Object.keys(cases)) {
  let n = 1000;
  while (true) {
    const perCall = timeRound(name, n);
    if (perCall * n > 10e6 || n >= 1e8) {
      iterations[name] = Math.max(1000, Math.round((ROUND_MS * 1e6) / perCall));
      break;
    }
    n *= 4;
  }
}

const samples = Object.fromEntries(Object.keys(cases).map((n) => [n, []]));
const names = Object.keys(cases);
for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
  for (const name of rotate(names, round)) {
    const ns = timeRound(name, iterations[name]);
    if (round >= WARMUP_ROUNDS) samples[name].push(ns);
  }
}

const results = {};
for (const name of names) results[name] = { group: cases[name][0], ns: summary(samples[name]) };
// The prom-client labelled increment the target compares against: its faster form, per round.
const pcBest = samples['prom-client counter.labels(4).inc()'].map((v, i) =>
  Math.min(v, samples['prom-client counter.inc({4 labels})'][i]),
);
for (const name of names)
  results[name].vsPromCounter = summary(samples[name].map((v, i) => v / pcBest[i]));
emit({ rounds: ROUNDS, businessLoaded: Boolean(business), results, promCounterNs: median(pcBest) });
if (business) await business.stopUserActivity();
await telemetry.shutdown();
await otelProvider.shutdown();
