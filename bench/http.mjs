// 1. HTTP overhead: requests/s of a trivial node:http server and an Express app, bare vs
// preloaded with bizmon vs a prom-client middleware vs stock OpenTelemetry. All variants run as
// servers at once (idle while not loaded); each round loads them one after the other in rotated
// order from a separate autocannon process, and every ratio is variant/bare within one round.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BENCH_DIR,
  emit,
  freePort,
  loadGenerator,
  placement,
  rotate,
  startServer,
  summary,
} from './lib/common.mjs';

const quick = process.argv.includes('--quick');
/** `--name value` from the command line. */
const option = (name) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
// Many short rounds: each ratio pairs runs taken seconds apart, and the median of 20 shrugs off
// the rounds another process on the machine disturbed (9 rounds of 4 s moved ±2% between runs).
const ROUNDS = Number(option('--rounds') ?? (quick ? 3 : 20));
const SECONDS = quick ? 1 : 1.5;
const WARMUP_SECONDS = quick ? 1 : 2;
const CONNECTIONS = 10;

const APPS = {
  trivial: { script: 'http-trivial.cjs', path: '/', method: 'GET' },
  express: {
    script: 'http-express.cjs',
    path: '/api/orders/42',
    method: 'POST',
    body: JSON.stringify({
      items: [
        { sku: 'a', price: 12.5, qty: 2 },
        { sku: 'b', price: 3.99, qty: 5 },
      ],
    }),
    auth: 'Bearer token-bob',
  },
};

const ALL_VARIANTS = {
  bare: {},
  bizmon: { nodeArgs: ['--require', '@bizmon/node/register'] },
  // Not in the default run: the cost of entering the request context on every request, per
  // Node version (`node<version> bench/http.mjs --apps trivial --variants bare,bizmon,bizmon-always`).
  'bizmon-always': {
    nodeArgs: ['--require', '@bizmon/node/register'],
    env: { BIZMON_REQUEST_CONTEXT: 'always' },
  },
  promclient: { env: { BENCH_VARIANT: 'promclient' } },
  otel: {
    nodeArgs: ['--require', join(BENCH_DIR, 'fixtures', 'otel-preload.cjs')],
    env: { BENCH_VARIANT: 'otel' },
  },
};

/** The variants and apps to run (`--variants a,b`, `--apps trivial`); `bare` is always first. */
const VARIANTS = Object.fromEntries(
  ['bare', ...(option('--variants') ?? 'bizmon,promclient,otel').split(',')]
    .filter((v, i, all) => all.indexOf(v) === i)
    .map((v) => [v, ALL_VARIANTS[v]]),
);
const SELECTED_APPS = (option('--apps') ?? Object.keys(APPS).join(',')).split(',');

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** CPU time (µs) the process has used, from /proc (Linux); undefined elsewhere. */
function cpuMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return undefined;
  }
}

/** One load run against `server`, with the server's CPU µs per request. */
async function measure(server, app, seconds) {
  const before = cpuMicros(server.child.pid);
  const r = await load(server.port, app, seconds);
  const after = cpuMicros(server.child.pid);
  r.cpuPerRequest = before === undefined ? undefined : (after - before) / r.total;
  return r;
}

const generator = loadGenerator();

function load(port, app, seconds) {
  return generator.run({
    url: `http://127.0.0.1:${port}${app.path}`,
    seconds,
    connections: CONNECTIONS,
    method: app.method,
    body: app.body,
    auth: app.auth,
  });
}

/** Sum of http_requests_total on bizmon's /metrics. */
async function recordedRequests(exporterPort) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${exporterPort}/metrics`)).text();
    let sum = 0;
    for (const m of text.matchAll(/^http_requests_total(?:\{[^}]*\})? (\S+)$/gm))
      sum += Number(m[1]);
    return sum;
  } catch {
    return 0;
  }
}

async function benchApp(name, app) {
  const servers = {};
  try {
    await Promise.all(
      Object.entries(VARIANTS).map(async ([variant, how]) => {
        const exporterPort = await freePort();
        servers[variant] = await startServer(join(BENCH_DIR, 'fixtures', app.script), {
          nodeArgs: how.nodeArgs ?? [],
          env: {
            ...how.env,
            OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
            OTEL_EXPORTER_PROMETHEUS_PORT: String(exporterPort),
            BENCH_EXPORTER_PORT: String(exporterPort),
            OTEL_SERVICE_NAME: 'bench',
          },
        });
        servers[variant].exporterPort = exporterPort;
      }),
    );
    const names = Object.keys(VARIANTS);
    for (const v of names) await load(servers[v].port, app, WARMUP_SECONDS);
    const raw = Object.fromEntries(names.map((v) => [v, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of rotate(names, round)) {
        const r = await measure(servers[v], app, SECONDS);
        if (r.errors > 0) throw new Error(`${name}/${v}: ${r.errors} failed requests`);
        raw[v].push(r);
      }
    }
    // Is bizmon's preload actually recording the requests? (Not before @bizmon/http lands.)
    const out = {
      app: name,
      variants: {},
      bizmonRecorded: servers.bizmon ? await recordedRequests(servers.bizmon.exporterPort) : 0,
    };
    for (const v of names) {
      out.variants[v] = {
        rps: summary(raw[v].map((r) => r.rps)),
        p50: summary(raw[v].map((r) => r.p50)),
        p99: summary(raw[v].map((r) => r.p99)),
        ratio: summary(raw[v].map((r, i) => r.rps / raw.bare[i].rps)),
        cpuPerRequest: summary(raw[v].map((r) => r.cpuPerRequest)),
        // Throughput a CPU-bound server would keep, from CPU per request: far less sensitive to
        // other processes on the machine than requests/s.
        cpuRatio: summary(raw[v].map((r, i) => raw.bare[i].cpuPerRequest / r.cpuPerRequest)),
      };
    }
    return out;
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
}

const apps = [];
for (const name of SELECTED_APPS) apps.push(await benchApp(name, APPS[name]));
await generator.close();
emit({ rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, placement, apps });
