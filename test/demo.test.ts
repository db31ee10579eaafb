import { connect } from 'node:net';
import { join } from 'node:path';
import { startApp, get, type RunningApp } from './support/apps';
import {
  expectMatchesCatalog,
  parseExposition,
  promtoolFindings,
  PROM_CLIENT_NAME_LINTS,
  sampleValue,
} from './support/exposition';
import { hasBinary } from './support/env';

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const demo = join(__dirname, '..', 'packages', 'demo', 'dist', 'main.js');

/** Series the demo's traffic must have moved, each with its label match. */
const expected: [string, Record<string, string>][] = [
  ['http_requests_total', { endpoint: '/api/v1/users/:id', status_code: '200' }],
  ['http_requests_total', { endpoint: '/api/v1/:service/tasks', status_code: '202' }],
  ['ai_tasks_total', { status: 'success' }],
  ['ai_tasks_submitted_total', {}],
  ['credits_consumed_total', {}],
  ['db_query_duration_seconds_count', { table: 'demo_users', operation: 'SELECT' }],
  ['cache_operations_total', { operation: 'get', result: 'hit' }],
  ['cache_operations_total', { operation: 'get', result: 'miss' }],
];

/** Polls /metrics until every expected series has moved, or the time is up; returns the last scrape. */
async function scrapeWhenMoving(app: RunningApp, timeoutMs = 30000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < until) {
    text = (await get(`http://127.0.0.1:${app.exporterPort}/metrics`)).body;
    const families = parseExposition(text);
    if (expected.every(([name, match]) => sampleValue(families, name, match) > 0)) return text;
    await new Promise((r) => setTimeout(r, 500));
  }
  return text;
}

test('npm start with nothing installed: embedded PostgreSQL, in-process cache, traffic on /metrics, clean stop', async () => {
  const app = await startApp(demo, {
    env: {
      PORT: '0',
      DATABASE_URL: '',
      REDIS_URL: '',
      OTEL_SERVICE_NAME: 'bizmon-demo',
      BIZMON_ADMIN_TOKEN: 'demo-admin',
    },
    timeoutMs: 60000,
  });
  try {
    expect(app.output()).toContain('embedded PostgreSQL on 127.0.0.1:');
    expect(app.output()).toContain('in-process cache');
    const text = await scrapeWhenMoving(app);
    const families = expectMatchesCatalog(text);
    for (const [name, match] of expected) {
      expect({ name, match, value: sampleValue(families, name, match) > 0 }).toEqual({
        name,
        match,
        value: true,
      });
    }
    expect(sampleValue(families, 'db_connection_pool_size', { pool: 'demo' })).toBe(10);
    expect(
      sampleValue(families, 'cache_operations_total', { operation: 'get', result: 'hit' }),
    ).toBeGreaterThan(0);
    // No user id, IP or SQL literal ever becomes a label.
    expect(text).not.toMatch(/demo-user-\d/);
    expect(text).not.toMatch(/127\.0\.0\.1/);
    if (hasBinary('promtool')) {
      expect(promtoolFindings(text)).toEqual(PROM_CLIENT_NAME_LINTS);
    }
    // Check messages are for the admin only.
    const health = await get(`http://127.0.0.1:${app.exporterPort}/health`, {
      authorization: 'Bearer demo-admin',
    });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body).checks.ai_services).toEqual({
      healthy: true,
      message: 'all 5 services up',
    });
  } finally {
    await app.stop();
  }
  expect(app.output()).toContain('[demo] stopped');
  expect(app.output()).not.toContain('while stopping');
  // Exit status 128 + SIGTERM, as for any process stopped by that signal.
  expect(app.child.exitCode).toBe(143);
  // The embedded PostgreSQL went with it.
  const pgPort = Number(/embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(app.output())![1]);
  await expect(portAnswers(pgPort)).resolves.toBe(false);
});
