// `npm run bench [-- --quick]`: runs every benchmark in its own child process, prints the table
// and writes bench/RESULTS.md (quick mode: bench/out/RESULTS-quick.md). Every figure is a ratio
// against a baseline measured in the same run, in alternating rounds, as a median with its
// spread (min–max). Targets are checked and reported; a miss prints MISSED but does not fail
// the run (the figures depend on the machine); a benchmark that crashes does.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { BENCH_DIR, fmtBytes, fmtNum, fmtRatio, ROOT, runJson } from './lib/common.mjs';

const quick = process.argv.includes('--quick');
const flag = quick ? ['--quick'] : [];
const started = new Date();
const load0 = os.loadavg();
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

const results = {};
const failures = [];
async function step(name, script, { args = [], nodeArgs = [] } = {}) {
  log(`${name}…`);
  const t0 = performance.now();
  try {
    results[name] = await runJson(join(BENCH_DIR, script), {
      args: [...flag, ...args],
      nodeArgs,
      timeoutMs: 900_000,
    });
    log(`${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    failures.push(`${name}: ${err.message}`);
    log(`${name} FAILED: ${err.message}`);
  }
}

await step('micro', 'micro.mjs');
await step('exemplars', 'exemplars.mjs', {
  nodeArgs: ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'],
});
await step('scrape', 'scrape.mjs', { nodeArgs: ['--expose-gc'] });
for (const v of quick ? ['bizmon'] : ['bizmon', 'prom-client', 'OpenTelemetry exporter']) {
  await step(`block:${v}`, 'scrape.mjs', { nodeArgs: ['--expose-gc'], args: ['--only', v] });
}
await step('memory', 'memory.mjs');
await step('db', 'db.mjs');
await step('http', 'http.mjs');
await step('startup', 'startup.mjs');
// The same rows on Node 22 and 24 when test/runtimes is installed (`npm ci --prefix test/runtimes`).
for (const version of quick ? [] : ['22', '24']) {
  const node = join(ROOT, 'test', 'runtimes', 'node_modules', `node${version}`, 'bin', 'node');
  if (existsSync(node)) await step(`startup:${version}`, 'startup.mjs', { args: ['--node', node] });
}
const seconds = (Date.now() - started.getTime()) / 1000;
const load1 = os.loadavg();

// ---- targets ---------------------------------------------------------------------------------
const targets = [];
function target(name, ok, detail) {
  targets.push({ name, ok, detail });
}
const http = results.http?.apps ?? [];
for (const [app, floor] of [
  ['trivial', 0.9],
  ['express', 0.95],
]) {
  const a = http.find((x) => x.app === app);
  if (!a) continue;
  const b = a.variants.bizmon.ratio.median;
  const pc = a.variants.promclient.ratio.median;
  const ot = a.variants.otel.ratio.median;
  target(`HTTP ${app}: bizmon ≥ ${floor}× bare req/s`, b >= floor, `${b.toFixed(2)}×`);
  target(
    `HTTP ${app}: bizmon ≥ prom-client middleware`,
    b >= pc,
    `${b.toFixed(2)}× vs ${pc.toFixed(2)}×`,
  );
  target(
    `HTTP ${app}: bizmon ≥ stock OpenTelemetry`,
    b >= ot,
    `${b.toFixed(2)}× vs ${ot.toFixed(2)}×`,
  );
}
const micro = results.micro?.results ?? {};
for (const [name, r] of Object.entries(micro)) {
  if (!name.startsWith('bizmon')) continue;
  const ratio = r.vsPromCounter.median;
  target(
    `${name} ≤ 0.5× prom-client labelled increment`,
    ratio <= 0.5,
    `${ratio.toFixed(2)}× (${r.ns.median.toFixed(0)} ns)`,
  );
}
const exemplarRows = results.exemplars?.results;
if (exemplarRows) {
  const off = exemplarRows['observeWithExemplar(), no tracer registered'];
  const bytes = off.bytesPerCall;
  target(
    'Exemplars, no tracer registered: ≤ 1.5× observe() and no allocation',
    off.vsPlain.median <= 1.5 && bytes !== null && bytes < 1,
    `${fmtRatio(off.vsPlain)} (${off.ns.median.toFixed(0)} ns), ${bytes === null ? 'a GC ran: bytes not measured' : `${bytes.toFixed(2)} bytes/call`}`,
  );
}
const s10 = results.scrape?.sizes?.find((s) => s.series === 10_000);
if (s10) {
  const r = s10.variants.bizmon.vsPromClient.median;
  target('Scrape 10,000 series ≤ 1.0× prom-client time', r <= 1, `${r.toFixed(2)}×`);
  const ot = s10.variants['OpenTelemetry exporter'].vsPromClient.median;
  target(
    'Scrape 10,000 series faster than stock OpenTelemetry',
    r < ot,
    `${r.toFixed(2)}× vs ${ot.toFixed(2)}× prom-client`,
  );
}
const blk = results['block:bizmon'];
if (blk) {
  // Judged on the CPU time the process spent inside its longest gap: wall gaps on a shared
  // machine include time other processes ran (the idle floor column shows how much).
  const worst = blk.longestBlockCpuMs.max;
  target(
    'Scrape 50,000 series: no event-loop block > 50 ms',
    worst <= 50,
    `longest ${worst.toFixed(1)} ms CPU (${blk.longestBlockMs.max.toFixed(1)} ms wall; idle floor ${blk.idleLongestBlockMs.max.toFixed(1)} ms wall)`,
  );
}
const db = results.db;
for (const [op, limit, label] of [
  ['pg', 1.05, 'PostgreSQL'],
  ['redis', 1.1, 'Redis'],
]) {
  const o = db?.ops?.[op];
  if (!o) {
    target(
      `${label} ≤ ${Math.round((limit - 1) * 100)}% added per operation`,
      undefined,
      db ? 'server not reachable: skipped' : 'not run',
    );
    continue;
  }
  // Judged on the client CPU the instrumentation adds per operation, as a share of the bare
  // operation's latency: with sequential awaits all of it is on the latency path, and unlike
  // the wall-time ratio (shown too) it does not move with other processes on the machine.
  const added = o.cpuAdded.median;
  target(
    `${label} ≤ ${Math.round((limit - 1) * 100)}% added per operation`,
    added <= limit - 1,
    `${(added * 100).toFixed(1)}% added CPU/latency (wall ratio ${fmtRatio(o.ratio, 3)})`,
  );
}
const startup = results.startup?.variants;
if (startup) {
  const added = startup['bizmon --require'];
  target(
    'Start-up: the preload adds ≤ 60 ms and ≤ 15 MiB to node -e 0',
    added.addedMs.median <= 60 && added.addedRssBytes.median <= 15 * 1024 * 1024,
    // Wall time is the target's definition; the CPU figure beside it moves less when other
    // processes load the machine (a busy quick run can show MISSED on wall time alone).
    `+${added.addedMs.median.toFixed(0)} ms wall (+${added.addedCpuMs.median.toFixed(0)} ms CPU), +${fmtBytes(added.addedRssBytes.median)} peak RSS`,
  );
}
const perSeries = results.memory?.perSeries;
if (perSeries) {
  const b = perSeries.bizmon;
  const pc = perSeries['prom-client'];
  target(
    'Memory per series ≤ prom-client',
    b <= pc,
    `${fmtNum(b)} vs ${fmtNum(pc)} bytes (10,000 counter series, 4 labels)`,
  );
}
const flood = results.memory?.flood;
if (flood) {
  const at = (n) => flood.points.find((p) => p.labelSets === n);
  const growth = at(100_000).heapUsed - at(10_000).heapUsed;
  target(
    'Heap flat through a 100,000-label flood (10k → 100k label sets)',
    growth < 2 * 1024 * 1024 && flood.seriesHeld <= flood.limit,
    `${fmtBytes(growth)} heap growth, ${flood.seriesHeld} series held (limit ${flood.limit})`,
  );
}

// ---- report ----------------------------------------------------------------------------------
const L = [];
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
})();
L.push(`# bizmon benchmark results${quick ? ' (quick mode)' : ''}`, '');
L.push('Generated by `bench/run.mjs`; see bench/README.md for what each benchmark measures.', '');
L.push(`- Date: ${started.toISOString()} (${seconds.toFixed(0)} s)`);
L.push(`- Command: \`npm run bench${quick ? ' -- --quick' : ''}\` (commit ${commit})`);
L.push(
  `- Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${fmtBytes(os.totalmem())} RAM, ${os.type()} ${os.release()}`,
);
L.push(
  `- Node ${process.version}; load average ${load0.map((x) => x.toFixed(1)).join('/')} at start, ${load1.map((x) => x.toFixed(1)).join('/')} at end (other processes on the machine widen the spreads)`,
);
L.push(
  '- Figures: median of rounds, (min–max) across rounds; ratios are taken per round against the baseline measured in that round.',
  '',
);

L.push('## Targets', '', '| target | result | |', '|---|---|---|');
for (const t of targets)
  L.push(
    `| ${t.name} | ${t.detail} | ${t.ok === undefined ? 'SKIPPED' : t.ok ? 'met' : '**MISSED**'} |`,
  );
L.push('');

/** Where the processes of a load test ran (bench/lib/common.mjs `placement`). */
function placed(placement, measured, others) {
  if (!placement) return 'nothing pinned (taskset or a second CPU missing)';
  const rest = others ? ` and ${others} to CPU ${placement.load}` : '';
  return `${measured} pinned to CPU ${placement.measured}${rest} (taskset)`;
}

if (http.length) {
  const hr = results.http;
  L.push('## 1. HTTP overhead', '');
  L.push(
    `autocannon in a separate process, ${hr.connections} connections, ${hr.rounds} rounds of ${hr.seconds} s per variant, variants rotated per round; ${placed(hr.placement, 'each server', 'autocannon')}. "ratio" is requests/s against bare in the same round; "CPU ratio" is bare's server CPU per request over the variant's (throughput a CPU-bound server keeps, less sensitive to other load on the machine).`,
    '',
  );
  L.push(
    '| app | variant | req/s | ratio | CPU µs/req | CPU ratio | p50 ms | p99 ms |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const a of http) {
    for (const [v, x] of Object.entries(a.variants)) {
      L.push(
        `| ${a.app} | ${v} | ${fmtNum(x.rps.median)} | ${fmtRatio(x.ratio)} | ${fmtNum(x.cpuPerRequest.median, 1)} | ${fmtRatio(x.cpuRatio)} | ${x.p50.median} | ${x.p99.median} |`,
      );
    }
  }
  L.push(
    '',
    `bizmon recorded http_requests_total: ${http.map((a) => `${a.app} ${fmtNum(a.bizmonRecorded)}`).join(', ')} (0 means @bizmon/http did not record: the row then measures the preload alone).`,
    '',
  );
}

if (Object.keys(micro).length) {
  L.push('## 2. Helper hot path', '');
  L.push(
    `Process CPU time per call, ${results.micro.rounds} rounds after warm-up, cases rotated per round; each case runs in its own compiled loop. "vs prom-client" divides by prom-client's faster labelled increment in the same round (${results.micro.promCounterNs.toFixed(0)} ns).`,
    '',
  );
  L.push('| case | ns/call | vs prom-client increment |', '|---|---|---|');
  for (const [name, r] of Object.entries(micro))
    L.push(
      `| ${name} | ${r.ns.median.toFixed(1)} (${r.ns.min.toFixed(1)}–${r.ns.max.toFixed(1)}) | ${fmtRatio(r.vsPromCounter)} |`,
    );
  if (!results.micro.businessLoaded)
    L.push('', '@bizmon/business helpers were not available: only core instruments measured.');
  L.push('');
}

if (exemplarRows) {
  L.push('## 2b. Exemplars on and off', '');
  L.push(
    `A 2-label http_request_duration_seconds observation as @bizmon/http and @bizmon/db record it (\`observeWithExemplar(series, v, exemplarSpan())\`), process CPU time per call, ${results.exemplars.rounds} rounds after warm-up; "vs observe()" divides by a plain \`observe(v)\` in the same round and situation. Bytes per call: heapUsed around ${fmtNum(results.exemplars.allocCalls)} calls with no GC between, least of three runs (else "GC ran").`,
    '',
  );
  L.push('| case | ns/call | vs observe() | bytes/call |', '|---|---|---|---|');
  for (const [name, r] of Object.entries(exemplarRows))
    L.push(
      `| ${name} | ${r.ns.median.toFixed(1)} (${r.ns.min.toFixed(1)}–${r.ns.max.toFixed(1)}) | ${fmtRatio(r.vsPlain)} | ${r.bytesPerCall === null ? 'GC ran' : r.bytesPerCall.toFixed(2)} |`,
    );
  L.push('');
}

if (results.scrape) {
  L.push('## 3. Scrape', '');
  L.push(
    '80% counter series with four labels, 20% histogram series with two labels and 9 buckets (the same label sets in every library). Time to produce the exposition text in-process, rounds rotated; ratio against prom-client in the same round.',
    '',
  );
  L.push('| series | producer | ms | bytes | vs prom-client |', '|---|---|---|---|---|');
  for (const s of results.scrape.sizes) {
    for (const [v, x] of Object.entries(s.variants))
      L.push(
        `| ${fmtNum(s.series)} | ${v} | ${x.ms.median.toFixed(1)} (${x.ms.min.toFixed(1)}–${x.ms.max.toFixed(1)}) | ${fmtBytes(x.bytes)} | ${fmtRatio(x.vsPromClient)} |`,
      );
  }
  L.push('');
  const blocks = Object.entries(results).filter(([k]) => k.startsWith('block:'));
  if (blocks.length) {
    L.push(
      "Longest event-loop block while `/metrics` with 50,000 series is fetched over HTTP (curl in another process), each library alone in its own process: wall time of the longest gap between ticks of a 1 ms interval, the process CPU time spent inside the longest gap, and the longest wall gap of the same probe over the same time with nothing to do (the machine's noise floor).",
      '',
    );
    L.push(
      '| producer | fetch ms | longest block ms (wall) | longest block ms (CPU) | idle floor ms (wall) |',
      '|---|---|---|---|---|',
    );
    for (const [k, b] of blocks)
      L.push(
        `| ${k.slice(6)} | ${b.ms.median.toFixed(0)} | ${b.longestBlockMs.median.toFixed(1)} (max ${b.longestBlockMs.max.toFixed(1)}) | ${b.longestBlockCpuMs.median.toFixed(1)} (max ${b.longestBlockCpuMs.max.toFixed(1)}) | ${b.idleLongestBlockMs.median.toFixed(1)} (max ${b.idleLongestBlockMs.max.toFixed(1)}) |`,
      );
    const ul = results['block:bizmon']?.underLoad;
    if (ul) {
      L.push(
        '',
        'bizmon under load (autocannon on a JSON route of the same process, 10 connections), without and with a 50,000-series scrape each second:',
        '',
      );
      L.push(
        '| | scrapes | req/s | p50 ms | p99 ms | loop delay p99 ms | loop delay max ms |',
        '|---|---|---|---|---|---|---|',
      );
      for (const [k, x] of Object.entries(ul))
        L.push(
          `| ${k} | ${x.scrapes} | ${fmtNum(x.rps)} | ${x.p50} | ${x.p99} | ${x.loopDelayP99Ms.toFixed(1)} | ${x.loopDelayMaxMs.toFixed(1)} |`,
        );
    }
    L.push('');
  }
}

if (results.memory) {
  const m = results.memory;
  L.push('## 4. Memory', '');
  L.push(
    `Heap bytes per series held (${fmtNum(m.series)} counter series with four labels, after a scrape whose output is dropped; three forced GCs before each reading; median of three processes):`,
    '',
  );
  L.push('| library | bytes/series |', '|---|---|');
  for (const [k, v] of Object.entries(m.perSeries)) L.push(`| ${k} | ${fmtNum(v)} |`);
  L.push(
    '',
    `bizmon through a 100,000-distinct-label flood at the default cardinality limit (${m.flood.limit}); ${m.flood.seriesHeld} series held at the end:`,
    '',
  );
  L.push('| label sets recorded | heap used | RSS |', '|---|---|---|');
  for (const p of m.flood.points)
    L.push(`| ${fmtNum(p.labelSets)} | ${fmtBytes(p.heapUsed)} | ${fmtBytes(p.rss)} |`);
  L.push('');
}

if (db) {
  L.push('## 5. PostgreSQL and Redis', '');
  if (!Object.keys(db.ops).length)
    L.push('Neither server was reachable on 127.0.0.1; skipped.', '');
  else {
    L.push(
      `Sequential \`SELECT 1\` (pg Client) and \`GET\` (ioredis) on loopback; a bare and a preloaded client process take turns, ${db.rounds} rounds of ${db.roundMs} ms; ${placed(db.placement, 'both clients')}, the servers left to the scheduler. bizmon recorded ${fmtNum(db.recorded?.pg ?? 0)} queries and ${fmtNum(db.recorded?.redis ?? 0)} Redis commands.`,
      '',
    );
    L.push(
      '| operation | bare µs/op | bizmon µs/op | ratio | client CPU µs/op bare → bizmon | CPU added / bare latency |',
      '|---|---|---|---|---|---|',
    );
    for (const [op, o] of Object.entries(db.ops))
      L.push(
        `| ${op === 'pg' ? 'PostgreSQL SELECT 1' : 'Redis GET'} | ${o.bareUs.median.toFixed(1)} | ${o.bizmonUs.median.toFixed(1)} | ${fmtRatio(o.ratio, 3)} | ${o.bareCpuUs.median.toFixed(1)} → ${o.bizmonCpuUs.median.toFixed(1)} | ${(o.cpuAdded.median * 100).toFixed(1)}% |`,
      );
    L.push('');
  }
}

const startupRuns = Object.keys(results).filter((k) => k.startsWith('startup'));
if (startupRuns.length) {
  L.push('## 6. Start-up', '');
  L.push(
    'A whole `node -e 0` process, bare and with each library loaded as an app would load it, variants rotated per round; "added" is taken per round against the row\'s baseline (bare, unless the table names another). The preload starts its exporter (node:http, the port) at the first turn of the event loop, which `node -e 0` never reaches: the "process living 20 ms" rows include it. Peak RSS is `process.resourceUsage().maxRSS` at exit; CPU is user + system time of the process (all threads). The OTLP row exits at once (its final push would wait for the unreachable collector).',
    '',
  );
  for (const key of startupRuns) {
    const r = results[key];
    L.push(
      `Node ${r.node}, ${r.rounds} rounds:`,
      '',
      '| variant | wall ms | added ms | CPU ms | added CPU ms | peak RSS | added RSS | added to |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [name, v] of Object.entries(r.variants))
      L.push(
        `| ${name} | ${v.ms.median.toFixed(0)} (${v.ms.min.toFixed(0)}–${v.ms.max.toFixed(0)}) | ${v.addedMs.median.toFixed(0)} | ${v.cpuMs.median.toFixed(0)} | ${v.addedCpuMs.median.toFixed(0)} | ${fmtBytes(v.rssBytes.median)} | ${fmtBytes(v.addedRssBytes.median)} | ${v.baseline ?? 'bare'} |`,
      );
    L.push('');
  }
}

L.push('## Alternatives measured', '');
L.push(
  '- Scrape: "bizmon via OTel serializer (before)" is how bizmon first served /metrics — its MetricProducer handed every series to the PrometheusExporter reader and OpenTelemetry\'s PrometheusSerializer rebuilt and re-escaped every label string on every scrape. Replaced by packages/core/src/export/exposition.ts: each series\' label text is built once and cached on the series, HELP/TYPE written once per family, pieces joined flat per slice of 128 series (string `+=` ropes had made GC two thirds of a 50,000-series scrape), a yield to the event loop every 5 ms, and `/metrics` written chunk by chunk (one 16 MB join had blocked the loop for tens of ms). The OTLP reader still gets the MetricProducer.',
);
L.push(
  '- Hot path: "OpenTelemetry counter.add(1, cached attrs)" shows that caching the attribute object does not rescue the SDK (it still sorts and hashes attributes per call); bizmon\'s positional `labels()` walks a Map tree with no allocation once a series exists.',
);
L.push(
  "- HTTP request context: entering the AsyncLocalStorage request context on every request (the first design) cost the trivial server about 8% on Node 20, where an entered AsyncLocalStorage runs an async_hooks `init` hook for every async resource. Pinned A/B, 7 rounds of 4 s, server CPU per request: bare 10.5 µs; bizmon entering the context 13.3 µs (0.83×); bizmon with `enterWith` stubbed out 11.3 µs (0.93×); a lone `enterWith({})` per request 11.3 µs (0.92×); prom-client 13.1 µs (0.85×). Hence `BIZMON_REQUEST_CONTEXT=on-demand`, the default: requests enter the context once the app loads `@bizmon/http` or `@bizmon/business` (or first uses it). The Express fixture's helpers take their role from it, so the express rows include its cost.",
);
L.push(
  "- HTTP, where the rest goes (trivial server, pinned, 20 rounds of 1.5 s): an empty `http.server.request.start` subscriber 0.99×; the subscriber plus one `close` listener per response 0.99×; bizmon preloaded with every path ignored (`BIZMON_HTTP_IGNORE=/`) 0.98×; bizmon recording 0.94×. Stock OpenTelemetry's instrumentation-http, replaced by that subscriber, is the otel row.",
);
L.push(
  '- HTTP placement: before the load tests were pinned (server and autocannon free to share both cores), the same trivial-server comparison gave bare 22.7 µs CPU per request and bizmon 0.81× (0.54–0.91), prom-client 0.80× (0.62–0.93); the "CPU ratio" column is the less noisy view of the same runs.',
);
if (failures.length) L.push('', '## Failures', '', ...failures.map((f) => `- ${f.split('\n')[0]}`));
L.push('');

const text = L.join('\n');
process.stdout.write(`${text}\n`);
// Quick results go to the git-ignored bench/out/, so a smoke run never replaces the full report.
const file = quick ? join(BENCH_DIR, 'out', 'RESULTS-quick.md') : join(BENCH_DIR, 'RESULTS.md');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, text);
const missed = targets.filter((t) => t.ok === false);
if (missed.length)
  log(
    `MISSED ${missed.length} target(s):\n${missed.map((t) => `  MISSED ${t.name}: ${t.detail}`).join('\n')}`,
  );
log(`wrote ${file} in ${seconds.toFixed(0)} s`);
process.exit(failures.length ? 1 : 0);
