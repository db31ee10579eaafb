// Shared helpers of the benchmark harness: statistics, child processes, formatting.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = join(BENCH_DIR, '..');

/** Median of numbers (mean of the middle two for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median with min and max: what every figure of the report carries. */
export function summary(values) {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** `0.93× (0.91–0.95)` */
export function fmtRatio(s, digits = 2) {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  return `${s.median.toFixed(digits)}× (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

export function fmtNum(v, digits = 0) {
  if (v === undefined || v === null || !Number.isFinite(v)) return 'n/a';
  return v.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function fmtBytes(b) {
  if (!Number.isFinite(b)) return 'n/a';
  if (Math.abs(b) >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (Math.abs(b) >= 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${Math.round(b)} B`;
}

/**
 * Where the processes of a load test run, on Linux with at least two CPUs and `taskset`
 * (util-linux): the measured process (server, database client) on the last CPU, the load
 * generator on the others, so the two never take turns on one core or migrate between cores.
 * Unpinned on this 2-core machine, a trivial server's CPU per request doubled (22.7 → 10.5 µs
 * pinned) and round-to-round spreads reached ±30%. Undefined (nothing pinned) elsewhere.
 */
export const placement = (() => {
  const cpus = os.availableParallelism();
  if (process.platform !== 'linux' || cpus < 2) return undefined;
  if (spawnSync('taskset', ['--version']).status !== 0) return undefined;
  return { measured: String(cpus - 1), load: cpus === 2 ? '0' : `0-${cpus - 2}` };
})();

/** Moves a running process and all its threads onto `cpus` (a taskset CPU list), if given. */
export function pin(pid, cpus) {
  if (cpus !== undefined) spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)]);
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `node [...nodeArgs] script [...args]` and resolves with the JSON object the child prints
 * on its last stdout line starting with `RESULT `. Its stderr is kept for error messages.
 */
export function runJson(script, { args = [], nodeArgs = [], env = {}, timeoutMs = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)));
      else
        reject(
          new Error(
            `${script} ${args.join(' ')} failed (${signal ?? code}):\n${err.slice(-3000)}\n${out.slice(-1000)}`,
          ),
        );
    });
  });
}

/**
 * Starts a long-running child, on the measured CPU, that prints `READY <port>` when it listens.
 * Resolves with the port and a stop function.
 */
export function startServer(script, { nodeArgs = [], env = {}, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pin(child.pid, placement?.measured);
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start:\n${out}`));
    }, timeoutMs);
    const onData = (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          child,
          output: () => out,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 3000).unref();
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before READY:\n${out}`));
    });
  });
}

/** Rotates `items` by `round` so that no variant always runs first (A/B alternation). */
export function rotate(items, round) {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Prints a child's result for the orchestrator. */
export function emit(result) {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/**
 * A long-lived load generator process (bench/fixtures/load.cjs in worker mode): `run(job)`
 * resolves with {rps, total, p50, p99, errors}; `close()` ends it.
 */
export function loadGenerator() {
  const child = spawn(process.execPath, [join(BENCH_DIR, 'fixtures', 'load.cjs')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  pin(child.pid, placement?.load);
  let buffered = '';
  const waiting = [];
  child.stdout.on('data', (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith('RESULT ')) continue;
      const out = JSON.parse(line.slice(7));
      const next = waiting.shift();
      if (out.error) next?.reject(new Error(out.error));
      else next?.resolve(out);
    }
  });
  return {
    run: (job) =>
      new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${JSON.stringify(job)}\n`);
      }),
    close: () => new Promise((resolve) => (child.once('exit', resolve), child.stdin.end())),
  };
}
