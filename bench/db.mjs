// 5. PostgreSQL and Redis: per-operation overhead of bizmon against the real servers on
// loopback. Two long-lived client processes, bare and preloaded with bizmon, take turns (rotated
// order per round) running sequential `SELECT 1` / `GET` loops on one pinned CPU; ratios are
// preloaded/bare per round.
import { fork } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { BENCH_DIR, emit, freePort, pin, placement, ROOT, rotate, summary } from './lib/common.mjs';

const quick = process.argv.includes('--quick');
// Many short rounds: pairs taken close together in time suffer less from other load.
const ROUNDS = quick ? 6 : 20;
const ROUND_MS = quick ? 300 : 1000;
const WARMUP_MS = quick ? 800 : 2000;

function reachable(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function client(execArgv) {
  const exporterPort = await freePort();
  const child = fork(join(BENCH_DIR, 'fixtures', 'db-loop.cjs'), [], {
    cwd: ROOT,
    execArgv,
    env: {
      ...process.env,
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(exporterPort),
    },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  // Both clients share the measured CPU (they take turns), PostgreSQL and Redis get the rest.
  pin(child.pid, placement?.measured);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const next = () =>
    new Promise((resolve, reject) => {
      child.once('message', (m) =>
        m.ok ? resolve(m.result ?? m) : reject(new Error(`${m.error}\n${stderr}`)),
      );
    });
  await next();
  return {
    ask: (msg) => {
      const reply = next();
      child.send(msg);
      return reply;
    },
    stop: () =>
      new Promise((resolve) => (child.once('exit', resolve), child.send({ cmd: 'exit' }))),
  };
}

const available = { pg: await reachable(5432), redis: await reachable(6379) };
const out = { rounds: ROUNDS, roundMs: ROUND_MS, available, placement, ops: {} };
if (available.pg || available.redis) {
  const clients = {
    bare: await client([]),
    bizmon: await client(['--require', '@bizmon/node/register']),
  };
  try {
    for (const op of ['pg', 'redis'].filter((o) => available[o])) {
      for (const c of Object.values(clients)) await c.ask({ cmd: 'run', op, ms: WARMUP_MS }); // warm-up (JIT, connection, caches)
      const raw = { bare: [], bizmon: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const v of rotate(['bare', 'bizmon'], round))
          raw[v].push(await clients[v].ask({ cmd: 'run', op, ms: ROUND_MS }));
      }
      out.ops[op] = {
        bareUs: summary(raw.bare.map((r) => r.wallUs)),
        bizmonUs: summary(raw.bizmon.map((r) => r.wallUs)),
        bareCpuUs: summary(raw.bare.map((r) => r.cpuUs)),
        bizmonCpuUs: summary(raw.bizmon.map((r) => r.cpuUs)),
        ratio: summary(raw.bizmon.map((r, i) => r.wallUs / raw.bare[i].wallUs)),
        // Added client CPU per operation as a share of the bare operation's latency: what the
        // instrumentation itself costs, without the machine's scheduling noise in latencies.
        cpuAdded: summary(
          raw.bizmon.map((r, i) => (r.cpuUs - raw.bare[i].cpuUs) / raw.bare[i].wallUs),
        ),
      };
    }
    out.recorded = await clients.bizmon.ask({ cmd: 'recorded' });
  } finally {
    await Promise.all(Object.values(clients).map((c) => c.stop()));
  }
}
emit(out);
