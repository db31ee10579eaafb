/**
 * The exporter's own limits (BIZMON_EXPORTER_MAX_CONNECTIONS, BIZMON_EXPORTER_TIMEOUT_MS) on
 * the real server; test/exporter-starvation.test.ts runs the flood against a preloaded app.
 */
import { connect, type Socket } from 'node:net';
import { registerHealthCheck, resolveConfig, startTelemetry, type Telemetry } from '@bizmon/core';
import { runHealthChecks } from '@bizmon/core/internal';

let telemetry: Telemetry;
let port: number;
let stderr: jest.SpyInstance;

beforeAll(async () => {
  stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  telemetry = await startTelemetry(
    resolveConfig({
      otelExporterPrometheusHost: '127.0.0.1',
      otelExporterPrometheusPort: 0,
      bizmonExporterMaxConnections: 2,
      bizmonExporterTimeoutMs: 300,
    }),
  );
  port = telemetry.exporterAddress!.port;
});

afterAll(async () => {
  await telemetry.shutdown();
  stderr.mockRestore();
});

/** A socket that sends part of a request's headers; resolves with what came back and when it closed. */
function slowClient(): { socket: Socket; closed: Promise<string> } {
  const socket = connect({ host: '127.0.0.1', port });
  let received = '';
  socket.on('connect', () => socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: a'));
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  return { socket, closed };
}

test('connections over the limit are closed unanswered; slow ones get 408 at the time-out', async () => {
  const first = slowClient();
  const second = slowClient();
  await new Promise((r) => first.socket.once('connect', r));
  await new Promise((r) => second.socket.once('connect', r));
  // Let the server count both before the third arrives.
  await new Promise((r) => setTimeout(r, 50));
  const third = slowClient();
  expect(await third.closed).toBe('');
  expect(await first.closed).toMatch(/^HTTP\/1\.1 408 /);
  expect(await second.closed).toMatch(/^HTTP\/1\.1 408 /);
  expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  const logged = stderr.mock.calls.map((c) => String(c[0])).join('');
  expect(logged).toContain('the metrics exporter is at its limit of 2 connections');
});

test('concurrent health runs share one run of each check', async () => {
  let calls = 0;
  let release: () => void = () => {};
  const remove = registerHealthCheck('database', async () => {
    calls++;
    await new Promise<void>((r) => (release = r));
    return true;
  });
  try {
    const reports = Array.from({ length: 20 }, () => runHealthChecks());
    await new Promise((r) => setImmediate(r));
    release();
    const done = await Promise.all(reports);
    expect(calls).toBe(1);
    expect(new Set(done).size).toBe(1);
    // A later call runs the checks again.
    const again = runHealthChecks();
    await new Promise((r) => setImmediate(r));
    release();
    await again;
    expect(calls).toBe(2);
  } finally {
    remove();
  }
});
