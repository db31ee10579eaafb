// 6. Start-up: wall time, CPU time and peak RSS of a whole `node -e 0` process, bare and with
// each monitoring library loaded the way an app would load it: bizmon's preload (--require and
// --import, Prometheus exporter on a free port; and with OTLP configured, the exporter package
// it then loads; and in a process that loads Express, beside that process without bizmon),
// `require('prom-client')`, and stock OpenTelemetry metrics with
// instrumentation-http (fixtures/otel-preload.cjs); and a process that lives one timer long,
// with and without the preload (it then starts its exporter). Every process under NODE_OPTIONS
// pays this. Variants are rotated per round; "added" is taken per round against the variant's
// baseline (bare unless it names another).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR, emit, median, rotate, ROOT, summary } from './lib/common.mjs';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 7 : 21;
const USAGE_HOOK = join(BENCH_DIR, 'lib', 'exit-usage.cjs');
/** Which node runs the processes (`--node <path>`): start-up differs between Node versions. */
const NODE = process.argv.includes('--node')
  ? process.argv[process.argv.indexOf('--node') + 1]
  : process.execPath;

const quiet = {
  OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
  OTEL_EXPORTER_PROMETHEUS_PORT: '0',
  BENCH_EXPORTER_PORT: '0',
};
const LIVING = 'setTimeout(() => {}, 20)';
/**
 * name → node arguments before `-e`, the script, extra environment, and the variant "added" is
 * taken against (bare unless named).
 */
const VARIANTS = {
  bare: { args: [], script: '0' },
  'bizmon --require': { args: ['--require', '@bizmon/node/register'], script: '0' },
  'bizmon --import': { args: ['--import', '@bizmon/node/register'], script: '0' },
  // Exits at once: at a normal exit the last push would wait for the (absent) collector.
  'bizmon --require, OTLP on': {
    args: ['--require', '@bizmon/node/register'],
    script: 'process.exit()',
    env: {
      OTEL_METRICS_EXPORTER: 'prometheus,otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
    },
  },
  // The preload registers its instrumentations (and loads @opentelemetry/instrumentation and
  // the API) when the app first loads a package they patch: an app that loads Express pays that
  // part too. Compare these two rows with each other.
  "require('express')": { args: [], script: "require('express')" },
  "bizmon --require, require('express')": {
    args: ['--require', '@bizmon/node/register'],
    script: "require('express')",
    baseline: "require('express')",
  },
  // The preload starts the exporter's server (node:http, the port) at the first turn of the
  // event loop: a process that ends in its main module, as `node -e 0`, never does. These two
  // rows are a process that lives one timer long, so they include it; compare them with each
  // other.
  'process living 20 ms': { args: [], script: LIVING },
  'bizmon --require, process living 20 ms': {
    args: ['--require', '@bizmon/node/register'],
    script: LIVING,
    baseline: 'process living 20 ms',
  },
  "require('prom-client')": { args: [], script: "require('prom-client')" },
  'stock OpenTelemetry (instrumentation-http)': {
    args: ['--require', join(BENCH_DIR, 'fixtures', 'otel-preload.cjs')],
    script: '0',
  },
};

function once(name) {
  const v = VARIANTS[name];
  const t0 = performance.now();
  const r = spawnSync(NODE, ['--require', USAGE_HOOK, ...v.args, '-e', v.script], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...quiet, ...v.env },
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  const m = /USAGE (\d+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${name} failed (${r.status}):\n${r.stderr}`);
  return { ms, rssBytes: Number(m[1]) * 1024, cpuMs: Number(m[2]) / 1000, stderr: r.stderr };
}

const names = Object.keys(VARIANTS);
const samples = Object.fromEntries(names.map((n) => [n, []]));
once('bare'); // warm the file system cache
for (let round = 0; round < ROUNDS; round++) {
  for (const name of rotate(names, round)) samples[name].push(once(name));
}
const variants = {};
for (const name of names) {
  const s = samples[name];
  const base = samples[VARIANTS[name].baseline ?? 'bare'];
  variants[name] = {
    baseline: VARIANTS[name].baseline ?? 'bare',
    ms: summary(s.map((x) => x.ms)),
    cpuMs: summary(s.map((x) => x.cpuMs)),
    rssBytes: summary(s.map((x) => x.rssBytes)),
    addedMs: summary(s.map((x, i) => x.ms - base[i].ms)),
    addedCpuMs: summary(s.map((x, i) => x.cpuMs - base[i].cpuMs)),
    addedRssBytes: summary(s.map((x, i) => x.rssBytes - base[i].rssBytes)),
    warnings: [...new Set(s.flatMap((x) => x.stderr.split('\n').filter((l) => /warn/i.test(l))))],
  };
}
emit({
  node: spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim(),
  rounds: ROUNDS,
  variants,
  medianBareMs: median(samples.bare.map((x) => x.ms)),
});
