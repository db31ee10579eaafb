/**
 * Test support: runs an app as a child process with the bizmon preload and waits for it to say
 * it is ready (by default a line `READY <port>` on stdout).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface RunningApp {
  child: ChildProcess;
  /** The app's own HTTP port, from its READY line. */
  port: number;
  exporterPort: number;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * The node binary that runs the apps under test: BIZMON_TEST_NODE when set (.ci/run points it
 * at Node 22 and 24 from test/runtimes), else the one running jest. Only the apps change
 * version: they are where bizmon runs, while jest and its TypeScript transform stay on the
 * toolchain's Node.
 */
export const APP_NODE = process.env.BIZMON_TEST_NODE || process.execPath;

/** APP_NODE's version (`v24.22.3`). */
export const APP_NODE_VERSION = execFileSync(APP_NODE, ['--version'], { encoding: 'utf8' }).trim();

/** APP_NODE's major version. */
export const APP_NODE_MAJOR = Number(/^v(\d+)/.exec(APP_NODE_VERSION)![1]);

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node <preloadFlag> @bizmon/node/register <script>` with the exporter on a free port.
 */
export async function startApp(
  script: string,
  options: {
    preload?: '--require' | '--import' | 'none';
    env?: Record<string, string>;
    cwd?: string;
    timeoutMs?: number;
    /** The line that says the app is up, with its port as the first group; default `READY <port>`. */
    ready?: RegExp;
    /** Runs the app under `ulimit -n <openFiles>` (through bash). */
    openFiles?: number;
    /** The node binary; APP_NODE by default. */
    node?: string;
    /** Node.js options before the preload (`--expose-gc`). */
    nodeArgs?: string[];
  } = {},
): Promise<RunningApp> {
  const exporterPort = await freePort();
  const preload = options.preload ?? '--require';
  const args = [
    ...(options.nodeArgs ?? []),
    ...(preload === 'none' ? [script] : [preload, '@bizmon/node/register', script]),
  ];
  const node = options.node ?? APP_NODE;
  const [command, argv] =
    options.openFiles === undefined
      ? [node, args]
      : ['bash', ['-c', `ulimit -n ${options.openFiles} && exec "$@"`, 'bash', node, ...args]];
  const child = spawn(command, argv, {
    cwd: options.cwd ?? process.cwd(),
    env: {
      ...process.env,
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(exporterPort),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`app did not start in time:\n${out}`)),
      options.timeoutMs ?? 20000,
    );
    const check = (): void => {
      const m = (options.ready ?? /READY (\d+)/).exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`app exited with ${code}:\n${out}`));
    });
  });
  if (preload !== 'none') await exporterListening(() => out, options.env);
  return {
    child,
    port,
    exporterPort,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        // An app that does not stop on SIGTERM (a failing test's cause) must not hang the run.
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Waits (5 s at most) for the preload's exporter to say it listens, or that it could not: the
 * preload starts it at the app's first turn of the event loop, which can come after the app
 * said it was ready. Not when the environment turns the exporter off.
 */
async function exporterListening(
  output: () => string,
  env: Record<string, string | undefined> = {},
): Promise<void> {
  const exporters = env.OTEL_METRICS_EXPORTER;
  if (
    env.BIZMON_DISABLED === 'true' ||
    env.OTEL_SDK_DISABLED === 'true' ||
    (exporters !== undefined && !exporters.includes('prometheus'))
  )
    return;
  const said = /\[bizmon\] (metrics on |warning: the metrics exporter could not listen)/;
  for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
    if (said.test(output())) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** GETs a URL and returns status and body text. */
export async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text() };
}
