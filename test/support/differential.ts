/**
 * Test support: differential runs. The same script of library calls runs in two child
 * processes, plain (`node script`) and preloaded (`node --require @bizmon/node/register script`);
 * the project's "invisible" rule is that both print the same trace. Scripts record their trace
 * with test/fixtures/differential/trace.cjs (one JSON line per event on stdout) and report facts
 * for the test, such as whether bizmon really patched the library, on stderr as
 * `DIFFERENTIAL-META {"key":…,"value":…}` lines (trace.cjs's `meta`).
 */
import { spawn } from 'node:child_process';
import { APP_NODE, freePort } from './apps';

/** What one run printed and how it ended. */
export interface DifferentialRun {
  /** The trace: stdout split into lines (the part that must match). */
  trace: string[];
  stderr: string;
  /** Exit code, or null when killed. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The run did not end within the time limit and was killed. */
  timedOut: boolean;
  /** `meta` facts the script reported on stderr. */
  meta: Record<string, unknown>;
}

export interface DifferentialResult {
  plain: DifferentialRun;
  preloaded: DifferentialRun;
}

export interface DifferentialOptions {
  /** Kill a run that has not exited by then (a hung script; not a speed check). Default 60 s. */
  timeoutMs?: number;
  /** How the preloaded run loads bizmon: `--require` (default) or `--import` (ESM apps). */
  preload?: '--require' | '--import';
  /** Extra node flags for both runs. */
  nodeArgs?: string[];
}

const META_LINE = /^DIFFERENTIAL-META (.*)$/gm;

async function runOnce(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<DifferentialRun> {
  // The preloaded run's exporter gets a free loopback port, so a taken 9464 changes nothing.
  const exporterPort = await freePort();
  return new Promise((resolve, reject) => {
    const child = spawn(APP_NODE, args, {
      cwd: process.cwd(),
      env: {
        ...process.env,
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(exporterPort),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const meta: Record<string, unknown> = {};
      for (const m of stderr.matchAll(META_LINE)) {
        const { key, value } = JSON.parse(m[1]!) as { key: string; value: unknown };
        meta[key] = value;
      }
      const trace = stdout.split('\n').filter((line) => line.length > 0);
      resolve({ trace, stderr, code, signal, timedOut, meta });
    });
  });
}

/**
 * Runs `scriptPath` plain, then preloaded with `--require @bizmon/node/register` (or `--import`,
 * see {@link DifferentialOptions.preload}), one after the other (so the two never compete for
 * the same keys, rows or CPU), with `env` added to both.
 */
export async function runPlainAndPreloaded(
  scriptPath: string,
  env: Record<string, string> = {},
  options: DifferentialOptions = {},
): Promise<DifferentialResult> {
  const timeoutMs = options.timeoutMs ?? 60000;
  const nodeArgs = options.nodeArgs ?? [];
  const plain = await runOnce([...nodeArgs, scriptPath], env, timeoutMs);
  const preloaded = await runOnce(
    [...nodeArgs, options.preload ?? '--require', '@bizmon/node/register', scriptPath],
    env,
    timeoutMs,
  );
  return { plain, preloaded };
}

/** The events of a trace, parsed: `[sequence, kind, ...details]`. */
export function traceEvents(run: DifferentialRun): unknown[][] {
  return run.trace.map((line) => JSON.parse(line) as unknown[]);
}

/**
 * Where two traces part: undefined when they are identical, else the first differing event with
 * a few events of context from each run, for a failure message a person can read.
 */
export function traceDifference(plain: string[], preloaded: string[]): string | undefined {
  const length = Math.max(plain.length, preloaded.length);
  for (let i = 0; i < length; i++) {
    if (plain[i] === preloaded[i]) continue;
    const context = (trace: string[]): string =>
      trace
        .slice(Math.max(0, i - 3), i + 4)
        .map((line, k) => `${k + Math.max(0, i - 3) === i ? '>' : ' '} ${line}`)
        .join('\n');
    return `traces differ at event ${i}\n--- plain\n${context(plain)}\n--- preloaded\n${context(preloaded)}`;
  }
  return undefined;
}
