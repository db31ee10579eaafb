// Slow-socket flood on the exporter port (issue #13, finding 8). Not part of `npm run bench`:
// run it alone with `node bench/exporter-starvation.mjs [--sockets 1100] [--hold 20]` after
// `npx tsc -b`. It starts test/fixtures/plain-app.cjs preloaded with bizmon under
// `ulimit -n 1024`, opens the slow sockets to the exporter (each sends a request line, then one
// header byte every 2 s and never finishes its headers; one the server closes is reopened), and
// meanwhile asks the app's own port for `/` once a second. Then it drops the sockets and scrapes
// /metrics. Extra environment variables (BIZMON_EXPORTER_*) pass through to the app. Prints one
// `RESULT {json}` line.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, ROOT } from './lib/common.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const SOCKETS = arg('--sockets', 1100);
const HOLD_S = arg('--hold', 20);
const PROBE_TIMEOUT_MS = 5000;

const exporterPort = await freePort();
const app = spawn(
  'bash',
  [
    '-c',
    `ulimit -n 1024; exec "${process.execPath}" --require @bizmon/node/register ${join(ROOT, 'test/fixtures/plain-app.cjs')}`,
  ],
  {
    cwd: ROOT,
    env: {
      ...process.env,
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(exporterPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let out = '';
app.stdout.on('data', (d) => (out += d));
app.stderr.on('data', (d) => (out += d));
const appPort = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`app did not start:\n${out}`)), 20000);
  app.stdout.on('data', () => {
    const m = /READY (\d+)/.exec(out);
    if (m) {
      clearTimeout(timer);
      resolve(Number(m[1]));
    }
  });
});

/** GET http://127.0.0.1:<port><path>: status (or error code) and milliseconds. */
function probe(port, path) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const done = (status) => resolve({ status, ms: Math.round(performance.now() - t0) });
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode));
      res.on('error', (e) => done(e.code ?? e.message));
    });
    req.setTimeout(PROBE_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => done(e.code ?? e.message));
    req.end();
  });
}

const before = await probe(appPort, '/');

const sockets = new Set();
let socketErrors = 0;
let closedByServer = 0;
let dropping = false;
// An attacker reopens every socket the server closes, so the flood stays at SOCKETS.
function open() {
  if (dropping) return;
  const s = connect({ host: '127.0.0.1', port: exporterPort });
  s.on('error', () => socketErrors++);
  s.on('close', () => {
    sockets.delete(s);
    if (dropping) return;
    closedByServer++;
    setTimeout(open, 50);
  });
  s.on('connect', () => s.write('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: '));
  sockets.add(s);
}
for (let i = 0; i < SOCKETS; i++) open();
const drip = setInterval(() => {
  for (const s of sockets) if (!s.destroyed) s.write('a');
}, 2000);

/** Open file descriptors of the app (bash exec'd node, so the same pid). */
const fds = () => {
  try {
    return readdirSync(`/proc/${app.pid}/fd`).length;
  } catch {
    return null;
  }
};
const during = [];
const fdSamples = [];
const t0 = Date.now();
while (Date.now() - t0 < HOLD_S * 1000) {
  fdSamples.push(fds());
  during.push(await probe(appPort, '/'));
  await new Promise((r) => setTimeout(r, 1000));
}
const openAtEnd = [...sockets].filter((s) => !s.destroyed).length;
clearInterval(drip);
dropping = true;
for (const s of sockets) s.destroy();
await new Promise((r) => setTimeout(r, 1000));
const appAfter = await probe(appPort, '/');
const scrapeAfter = await probe(exporterPort, '/metrics');
app.kill('SIGTERM');

const answered = during.filter((p) => p.status === 200);
const result = {
  sockets: SOCKETS,
  holdSeconds: HOLD_S,
  appBefore: before,
  appDuring: {
    probes: during.length,
    answered: answered.length,
    failures: [...new Set(during.filter((p) => p.status !== 200).map((p) => p.status))],
    maxMs: Math.max(...during.map((p) => p.ms)),
    answeredMaxMs: answered.length ? Math.max(...answered.map((p) => p.ms)) : null,
  },
  appMaxOpenFds: Math.max(...fdSamples),
  slowSocketsStillOpenAtEnd: openAtEnd,
  slowSocketsClosedByServer: closedByServer,
  socketErrors,
  appAfter,
  scrapeAfter,
  appAlive: app.exitCode === null,
  appLog: out
    .split('\n')
    .filter((l) => /bizmon|Error|EMFILE/.test(l))
    .slice(0, 5),
};
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
