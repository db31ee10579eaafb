/**
 * @bizmon/db end to end: a CommonJS app using pg, preloaded with @bizmon/node/register, against
 * the real PostgreSQL on 127.0.0.1:5432 (a throw-away local server when none is reachable), and
 * a second server the test starts and stops for the health check.
 */
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { get, startApp, type RunningApp } from './support/apps';
import { expectMatchesCatalog, sampleValue, type Family } from './support/exposition';
import { inCI } from './support/env';
import {
  postgresBinDir,
  startLocalPostgres,
  type LocalPostgres,
} from '../packages/db/test/support/postgres';

const fixture = join(__dirname, 'fixtures', 'db-app.cjs');
const table = `bizmon_db_${process.pid}_${Date.now().toString(36)}`;

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

const canRun = inCI || postgresBinDir() !== undefined;
if (!canRun)
  process.stderr.write(
    '\n!!! SKIPPED: no PostgreSQL binaries for the second server (see .ci/run).\n',
  );
const describeDb = canRun ? describe : describe.skip;

describeDb('pg metrics from a preloaded app', () => {
  let app: RunningApp;
  let fallback: LocalPostgres | undefined;

  const call = async (scenario: string): Promise<unknown> => {
    const res = await get(`http://127.0.0.1:${app.port}/${scenario}`);
    const body = JSON.parse(res.body) as { ok: boolean; result: unknown; error?: string };
    if (!body.ok) throw new Error(`${scenario}: ${body.error}`);
    return body.result;
  };
  const scrape = async (): Promise<{ text: string; families: Map<string, Family> }> => {
    const res = await get(`http://127.0.0.1:${app.exporterPort}/metrics`);
    expect(res.status).toBe(200);
    return { text: res.body, families: expectMatchesCatalog(res.body) };
  };

  beforeAll(async () => {
    let url = process.env.BIZMON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    if (!(await reachable('127.0.0.1', 5432))) {
      process.stderr.write(
        '\n!!! PostgreSQL on 127.0.0.1:5432 is not reachable: using a throw-away local server.\n',
      );
      fallback = await startLocalPostgres();
      url = fallback.url;
    }
    app = await startApp(fixture, {
      env: { DATABASE_URL: url, TABLE: table, BIZMON_DB_SLOW_QUERY_MS: '200' },
    });
    await call('setup');
  });

  afterAll(async () => {
    if (app) {
      await call('teardown').catch(() => undefined);
      await app.stop();
    }
    await fallback?.stop();
  });

  test('every query is counted by first table and operation, with errors, slow queries and a real deadlock', async () => {
    await call('basic');
    expect(await call('error')).toEqual(['42P01', '23505', '42P01']);
    await call('slow');
    const deadlock = (await call('deadlock')) as string[];
    expect(deadlock.filter((r) => r === '40P01')).toHaveLength(1);
    expect(deadlock.filter((r) => r === 'ok')).toHaveLength(1);

    const { text, families } = await scrape();
    const count = (t: string, operation: string): number =>
      sampleValue(families, 'db_query_duration_seconds_count', { table: t, operation });
    expect(count(table, 'CREATE')).toBe(1);
    expect(count(table, 'SELECT')).toBe(3); // promise, callback, slow
    expect(count(`public.${table}`, 'SELECT')).toBe(1); // submittable pg.Query
    expect(count(table, 'INSERT')).toBe(4); // setup, named prepared, WITH … INSERT … SELECT, duplicate
    expect(count(table, 'UPDATE')).toBe(5); // UPDATE … FROM, 4 in the deadlock
    expect(count(table, 'DELETE')).toBe(1);
    expect(count(`${table}_missing`, 'SELECT')).toBe(2); // promise, failing submittable
    expect(count('unknown', 'SET')).toBe(2);
    expect(count('unknown', 'BEGIN')).toBe(2);
    expect(count('unknown', 'ROLLBACK')).toBe(2);
    expect(
      sampleValue(families, 'db_query_duration_seconds_bucket', {
        table,
        operation: 'SELECT',
        le: '0.25',
      }),
    ).toBe(2);
    expect(
      sampleValue(families, 'db_query_duration_seconds_sum', { table, operation: 'SELECT' }),
    ).toBeGreaterThanOrEqual(0.3);

    expect(sampleValue(families, 'db_slow_queries_total', { table, operation: 'SELECT' })).toBe(1);
    expect(sampleValue(families, 'db_slow_queries_total')).toBe(1);
    expect(sampleValue(families, 'db_deadlocks_total')).toBe(1);
    const errors = (type: string): number =>
      sampleValue(families, 'application_errors_total', { error_type: type, component: 'db' });
    expect(errors('undefined_table')).toBe(2);
    expect(errors('unique_violation')).toBe(1);
    expect(errors('deadlock_detected')).toBe(1);
    expect(text).not.toContain('secret-value');
    // The health check's own SELECT 1 is not counted.
    expect((await get(`http://127.0.0.1:${app.exporterPort}/health`)).status).toBe(200);
    const again = await scrape();
    expect(
      sampleValue(again.families, 'db_query_duration_seconds_count', {
        table: 'unknown',
        operation: 'SELECT',
      }),
    ).toBe(0);
  });

  test('each pool has its own size and usage gauges, which follow checkouts', async () => {
    await call('hold');
    let { families } = await scrape();
    expect(sampleValue(families, 'db_connection_pool_size', { pool: 'bizmon-api' })).toBe(4);
    expect(sampleValue(families, 'db_connection_pool_size', { pool: 'default' })).toBe(3);
    expect(sampleValue(families, 'db_connection_pool_usage', { pool: 'bizmon-api' })).toBe(3);
    expect(sampleValue(families, 'db_connection_pool_usage', { pool: 'default' })).toBe(1);
    await call('release');
    ({ families } = await scrape());
    expect(sampleValue(families, 'db_connection_pool_usage', { pool: 'bizmon-api' })).toBe(0);
    expect(sampleValue(families, 'db_connection_pool_usage', { pool: 'default' })).toBe(0);
    expect(sampleValue(families, 'db_connection_pool_size', { pool: 'bizmon-api' })).toBe(4);
  });
});

describeDb('database health check', () => {
  test('goes unhealthy (503) when the PostgreSQL server stops, while the app keeps serving', async () => {
    const server = await startLocalPostgres();
    let app: RunningApp | undefined;
    try {
      app = await startApp(fixture, {
        env: { DATABASE_URL: server.url, TABLE: 'unused', BIZMON_ADMIN_TOKEN: 'admin' },
      });
      let health = await get(`http://127.0.0.1:${app.exporterPort}/health`, {
        authorization: 'Bearer admin',
      });
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body).checks.database).toEqual({ healthy: true, message: 'ok' });
      await server.stop();
      health = await get(`http://127.0.0.1:${app.exporterPort}/health`);
      expect(health.status).toBe(503);
      const report = JSON.parse(health.body);
      expect(report.status).toBe('unhealthy');
      expect(report.checks.database.healthy).toBe(false);
      expect((await get(`http://127.0.0.1:${app.port}/ping`)).status).toBe(200);
    } finally {
      await app?.stop();
      await server.stop();
    }
  });
});
