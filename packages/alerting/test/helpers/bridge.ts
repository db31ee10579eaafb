import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The built CLI, as users run it (`bizmon-alert-bridge`). BIZMON_BRIDGE_CLI points the tests
 * at another build, e.g. one of the unmodified code to show a test reproduces its bug.
 */
export const CLI =
  process.env.BIZMON_BRIDGE_CLI ??
  path.join(path.dirname(require.resolve('@bizmon/alerting/package.json')), 'dist/bridge/cli.js');

export interface BridgeProcess {
  url: string;
  proc: ChildProcess;
  /** Every line the process wrote, stdout and stderr. */
  lines: string[];
  exited: Promise<number | null>;
  /** Stops it (SIGKILL unless told otherwise) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `bizmon-${prefix}-`));
}

/** Writes `yaml` to `<dir>/bridge.yml` and starts the bridge on it; resolves once it listens. */
export async function startBridge(
  dir: string,
  yaml: string,
  env: Record<string, string> = {},
  allLines: string[] = [],
): Promise<BridgeProcess> {
  const file = path.join(dir, 'bridge.yml');
  writeFileSync(file, yaml);
  const proc = spawn(process.execPath, [CLI, '--config', file], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  let onLine: (l: string) => void = () => undefined;
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        allLines.push(l);
        onLine(l);
      }
    });
  }
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bridge did not start:\n${lines.join('\n')}`)),
      10_000,
    );
    onLine = (l) => {
      const m = /listening on (http:\/\/\S+)/.exec(l);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bridge exited with ${code}:\n${lines.join('\n')}`));
    });
  });
  return {
    url,
    proc,
    lines,
    exited,
    stop: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

let seq = 0;

/** An Alertmanager webhook payload (version 4) for the given alerts. */
export function amPayload(
  alerts: Array<{
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    status?: 'firing' | 'resolved';
  }>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    version: '4',
    groupKey: `{}:{alertname="g${++seq}"}`,
    truncatedAlerts: 0,
    status: alerts.some((a) => (a.status ?? 'firing') === 'firing') ? 'firing' : 'resolved',
    receiver: 'bizmon-bridge',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: alerts.map((a, i) => ({
      status: a.status ?? 'firing',
      labels: a.labels,
      annotations: a.annotations ?? { summary: 'something needs attention' },
      startsAt: now,
      endsAt: a.status === 'resolved' ? now : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph?g0.expr=up',
      fingerprint: `fp${seq}${i}`,
    })),
    ...extra,
  };
}

/** POSTs JSON (or a raw string) to the bridge. */
export async function post(url: string, body: unknown): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.text() };
}

/**
 * Sends `request` as raw bytes (any target, method or header, exactly as written) on a new
 * connection and resolves with everything the server answered until it closed the connection.
 */
export function rawRequest(
  url: string,
  request: Buffer | string,
  timeoutMs = 10_000,
): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no answer within ${timeoutMs} ms to ${JSON.stringify(String(request).slice(0, 200))}`,
        ),
      );
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    // The server may close while we still write (e.g. 413): keep what it answered.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.end(request);
  });
}

/** The status code of a raw HTTP response, or undefined if it is not one. */
export function statusOf(response: string): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(response);
  return m ? Number(m[1]) : undefined;
}
