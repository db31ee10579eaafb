import { createServer } from 'node:net';
import {
  instruments,
  registerHealthCheck,
  resolveConfig,
  startTelemetry,
  type Telemetry,
} from '@bizmon/core';
import { expectMatchesCatalog } from '../../../../test/support/exposition';
import { hasBinary } from '../../../../test/support/env';
import { execFileSync } from 'node:child_process';

let telemetry: Telemetry;
let base: string;
let stderr: jest.SpyInstance;

beforeAll(async () => {
  stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  telemetry = await startTelemetry(
    resolveConfig({
      otelExporterPrometheusHost: '127.0.0.1',
      otelExporterPrometheusPort: 0,
      bizmonAdminToken: 'admin-secret',
      otelServiceName: 'endpoints-test',
    }),
  );
  base = `http://127.0.0.1:${telemetry.exporterAddress!.port}`;
});

afterAll(async () => {
  await telemetry.shutdown();
  stderr.mockRestore();
});

test('/metrics serves text 0.0.4 whose families match the catalog and pass promtool', async () => {
  instruments.http_requests_total.labels('GET', '/api/v1/users/:id', '200', 'user').add();
  instruments.http_request_duration_seconds.labels('GET', '/api/v1/users/:id').observe(0.03);
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  const families = expectMatchesCatalog(text);
  expect(families.get('system_info')!.samples[0]!.labels).toMatchObject({
    service_name: 'endpoints-test',
    node_version: process.version,
  });
  expect(text).not.toMatch(/otel_scope_/);
  expect(text).not.toMatch(/_total_total/);
  if (hasBinary('promtool')) {
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(out.trim()).toBe('');
  }
});

const admin = { headers: { authorization: 'Bearer admin-secret' } };

test('/health reports the standard checks as not configured, and 503 when a check fails', async () => {
  let res = await fetch(`${base}/health`, admin);
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    status: string;
    timestamp: string;
    checks: Record<string, unknown>;
  };
  expect(body.status).toBe('healthy');
  expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
  expect(body.checks).toEqual({
    database: { healthy: true, message: 'not configured' },
    redis: { healthy: true, message: 'not configured' },
    ai_services: { healthy: true, message: 'not configured' },
  });

  const removeSlow = registerHealthCheck('ai_services', () => new Promise<boolean>(() => {}), {
    timeoutMs: 100,
  });
  const removeThrowing = registerHealthCheck('database', () => {
    throw new Error('connection refused');
  });
  res = await fetch(`${base}/health`, admin);
  expect(res.status).toBe(503);
  const failing = (await res.json()) as {
    status: string;
    checks: Record<string, { healthy: boolean; message: string }>;
  };
  expect(failing.status).toBe('unhealthy');
  expect(failing.checks.ai_services).toEqual({ healthy: false, message: 'timed out after 100 ms' });
  expect(failing.checks.database).toEqual({ healthy: false, message: 'connection refused' });
  removeSlow();
  removeThrowing();
  expect((await fetch(`${base}/health`)).status).toBe(200);
});

test('health messages have the credentials of URLs masked, even for the admin', async () => {
  const remove = registerHealthCheck('redis', () => {
    throw new Error('cannot reach redis://app:hunter2@cache:6379/0?password=hunter3');
  });
  try {
    const res = await fetch(`${base}/health`, admin);
    const body = (await res.json()) as { checks: Record<string, { message: string }> };
    expect(body.checks.redis!.message).toBe('cannot reach redis://***@cache:6379/0?password=***');
  } finally {
    remove();
  }
});

test('/stats needs the admin token: 401 without or wrong, 200 with it', async () => {
  expect((await fetch(`${base}/stats`)).status).toBe(401);
  expect(
    (await fetch(`${base}/stats`, { headers: { authorization: 'Bearer wrong' } })).status,
  ).toBe(401);
  expect(
    (await fetch(`${base}/stats`, { headers: { authorization: 'admin-secret' } })).status,
  ).toBe(401);
  instruments.ai_tasks_submitted_total.labels('kling').add(3);
  instruments.cache_operations_total.labels('get', 'hit').add(3);
  instruments.cache_operations_total.labels('get', 'miss').add(1);
  const res = await fetch(`${base}/stats`, { headers: { authorization: 'Bearer admin-secret' } });
  expect(res.status).toBe(200);
  const stats = (await res.json()) as Record<string, unknown>;
  expect(stats).toMatchObject({
    active_connections: 0,
    total_requests: 1,
    ai_tasks_stats: { kling: 3 },
    cache_stats: { hits: 3, misses: 1, hit_rate: 0.75 },
  });
  // Only the services that had tasks: the library keeps no list of an app's services.
  expect(stats.ai_tasks_stats).toEqual({ kling: 3 });
});

test('unknown paths answer 404 and other methods 405', async () => {
  expect((await fetch(`${base}/nope`)).status).toBe(404);
  expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
});

test('a taken exporter port is logged and the process carries on', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  await telemetry.shutdown();
  stderr.mockClear();
  telemetry = await startTelemetry(
    resolveConfig({ otelExporterPrometheusHost: '127.0.0.1', otelExporterPrometheusPort: port }),
  );
  expect(telemetry.exporterAddress).toBeUndefined();
  const logged = stderr.mock.calls.map((c) => String(c[0])).join('');
  expect(logged).toContain(`could not listen on 127.0.0.1:${port} (EADDRINUSE)`);
  // Recording still works and can be scraped in-process.
  instruments.db_deadlocks_total.labels().add();
  expect(await telemetry.scrape()).toContain('db_deadlocks_total 1');
  blocker.close();
});
