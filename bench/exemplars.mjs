// 7. Exemplars: ns per histogram observation as @bizmon/http and @bizmon/db record it,
// `observeWithExemplar(labels(2), v, exemplarSpan())`, against plain `labels(2).observe(v)` in the
// same round, in the situations an app can be in: no tracer registered (exemplars cost nothing
// there: the target), a tracer and context manager but no active span, a sampled span active
// (the exemplar is kept: on), and a sampled span with BIZMON_EXEMPLARS=false (off). Also heap
// bytes allocated per call, from heapUsed around 100,000 calls with a young generation big
// enough that no GC runs in between (checked; `--expose-gc --min-semi-space-size=64
// --max-semi-space-size=64`), least of three runs.
// The tracer is registered only after the no-tracer cases ran: the API's globals cannot be
// unregistered cleanly, so the rounds of the cases after it rotate among themselves.
import { createRequire } from 'node:module';
import { PerformanceObserver } from 'node:perf_hooks';
import { emit, ROOT, rotate, summary } from './lib/common.mjs';

const require = createRequire(`${ROOT}/package.json`);
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 15;
const WARMUP_ROUNDS = 3;
const ROUND_MS = quick ? 30 : 100;
const ALLOC_CALLS = 100_000;

const core = require('@bizmon/core');
const api = require('@opentelemetry/api');
// The shared state's switch (what BIZMON_EXEMPLARS=false sets at start), by file: not exported.
const { state } = require(`${ROOT}/packages/core/dist/base/state.js`);

const telemetry = await core.startTelemetry(
  core.resolveConfig({
    otelExporterPrometheusPort: 0,
    otelExporterPrometheusHost: '127.0.0.1',
    otelServiceName: 'bench-exemplars',
  }),
);

const METHODS = ['GET', 'POST', 'GET', 'PUT'];
const ENDPOINTS = ['/api/orders/:id', '/api/orders', '/api/users/:id', '/api/credits'];
// Taken off the module once, as `histogram` is: what is measured is the exemplar work, not
// TypeScript's CommonJS re-export getters, which every call into @bizmon/core pays alike.
const { exemplarSpan, observeWithExemplar } = require('@bizmon/core/internal');
const histogram = core.instruments.http_request_duration_seconds;
const plain = (i) => histogram.labels(METHODS[i & 3], ENDPOINTS[i & 3]).observe(0.042);
const withExemplar = (i) =>
  observeWithExemplar(histogram.labels(METHODS[i & 3], ENDPOINTS[i & 3]), 0.042, exemplarSpan());

const makeLoop = () =>
  new Function(
    'fn',
    'n',
    'let sink = 0; for (let i = 0; i < n; i++) { const r = fn(i); if (r !== undefined) sink++; } return sink;',
  );

/** A case: its function, and the context it runs in (a function that runs a callback). */
function measure(cases) {
  const loops = Object.fromEntries(Object.keys(cases).map((name) => [name, makeLoop()]));
  const timeRound = (name, n) => {
    const { fn, within } = cases[name];
    const t0 = process.cpuUsage();
    const sink = within(() => loops[name](fn, n));
    const used = process.cpuUsage(t0);
    if (sink < 0) console.log(sink);
    return ((used.user + used.system) * 1000) / n;
  };
  const iterations = {};
  for (const name of Object.keys(cases)) {
    let n = 1000;
    for (;;) {
      const perCall = timeRound(name, n);
      if (perCall * n > 10e6 || n >= 1e8) {
        iterations[name] = Math.max(1000, Math.round((ROUND_MS * 1e6) / perCall));
        break;
      }
      n *= 4;
    }
  }
  const names = Object.keys(cases);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    for (const name of rotate(names, round)) {
      const ns = timeRound(name, iterations[name]);
      if (round >= WARMUP_ROUNDS) samples[name].push(ns);
    }
  }
  return samples;
}

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({
  entryTypes: ['gc'],
});
/**
 * Heap bytes per call of `fn` (run within `within`): the least of three runs, so a timer or
 * socket of the process allocating meanwhile is not counted; null if a GC ran in every run.
 */
async function bytesPerCall(fn, within) {
  within(() => {
    for (let i = 0; i < ALLOC_CALLS; i++) fn(i); // warm: series and exemplar slots exist
  });
  let least = null;
  for (let run = 0; run < 3; run++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 20)); // lets the GC observer report the collection
    const before = gcs;
    const h0 = process.memoryUsage().heapUsed;
    within(() => {
      for (let i = 0; i < ALLOC_CALLS; i++) fn(i);
    });
    const h1 = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 20));
    if (gcs !== before) continue;
    const bytes = Math.max(0, (h1 - h0) / ALLOC_CALLS);
    least = least === null ? bytes : Math.min(least, bytes);
  }
  return least;
}

const direct = (run) => run();
const results = {};
const addResults = (samples, cases, baseline, bytes) => {
  for (const name of Object.keys(samples)) {
    results[name] = {
      ns: summary(samples[name]),
      vsPlain: summary(samples[name].map((v, i) => v / samples[baseline][i])),
      bytesPerCall: bytes[name],
    };
  }
};

// 1. No tracer registered: neither a context manager nor a tracer provider.
{
  const cases = {
    'observe() (baseline)': { fn: plain, within: direct },
    'observeWithExemplar(), no tracer registered': { fn: withExemplar, within: direct },
  };
  const bytes = {};
  for (const [name, c] of Object.entries(cases)) bytes[name] = await bytesPerCall(c.fn, c.within);
  addResults(measure(cases), cases, 'observe() (baseline)', bytes);
}

// 2. The app traces: AsyncLocalStorage context manager and an SDK tracer provider.
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { TracerProvider } = require('@opentelemetry/sdk-trace');
api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const provider = new TracerProvider();
api.trace.setGlobalTracerProvider(provider);
const span = provider.getTracer('bench').startSpan('request');
const inSpan = (run) => api.context.with(api.trace.setSpan(api.context.active(), span), run);
const switchedOff = (run) => {
  state.exemplars = false;
  try {
    return inSpan(run);
  } finally {
    state.exemplars = true;
  }
};
{
  const baseline = 'observe(), tracer registered (baseline)';
  const cases = {
    [baseline]: { fn: plain, within: direct },
    'observeWithExemplar(), tracer registered, no active span': {
      fn: withExemplar,
      within: direct,
    },
    'observeWithExemplar(), sampled span active: exemplar kept (on)': {
      fn: withExemplar,
      within: inSpan,
    },
    'observeWithExemplar(), sampled span active, BIZMON_EXEMPLARS=false (off)': {
      fn: withExemplar,
      within: switchedOff,
    },
  };
  const bytes = {};
  for (const [name, c] of Object.entries(cases)) bytes[name] = await bytesPerCall(c.fn, c.within);
  addResults(measure(cases), cases, baseline, bytes);
}
span.end();

emit({ rounds: ROUNDS, allocCalls: ALLOC_CALLS, results });
await telemetry.shutdown();
await provider.shutdown();
