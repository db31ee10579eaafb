/**
 * @bizmon/cache end to end: a CommonJS app using ioredis, preloaded with @bizmon/node/register,
 * against the real Redis on 127.0.0.1:6379, and against Redis servers (one of them a one-node
 * cluster) that the test starts and stops.
 */
import { join } from 'node:path';
import { get, startApp, type RunningApp } from './support/apps';
import { expectMatchesCatalog, sampleValue, type Family } from './support/exposition';
import { hasBinary, hasServer } from './support/env';
import { sendCommand, startRedis, type LocalRedis } from '../packages/cache/test/support/redis';

const fixture = join(__dirname, 'fixtures', 'cache-app.cjs');
const prefix = `bizmon:cache:${process.pid}:${Date.now().toString(36)}:`;

async function call(app: RunningApp, scenario: string): Promise<unknown> {
  const res = await get(`http://127.0.0.1:${app.port}/${scenario}`);
  const body = JSON.parse(res.body) as { ok: boolean; result: unknown; error?: string };
  if (!body.ok) throw new Error(`${scenario}: ${body.error}`);
  return body.result;
}

async function scrape(app: RunningApp): Promise<Map<string, Family>> {
  const res = await get(`http://127.0.0.1:${app.exporterPort}/metrics`);
  expect(res.status).toBe(200);
  return expectMatchesCatalog(res.body);
}

function infoField(info: string, name: string): number {
  return Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)![1]);
}

const ops = (families: Map<string, Family>, operation: string, result: string): number =>
  sampleValue(families, 'cache_operations_total', { operation, result });

let mainRedis = false;
let redisBinary = false;
beforeAll(async () => {
  mainRedis = await hasServer('Redis', '127.0.0.1', 6379);
  redisBinary = hasBinary('redis-server');
});

describe('ioredis metrics from a preloaded app on the real Redis', () => {
  let app: RunningApp | undefined;
  afterAll(async () => {
    if (app) {
      await call(app, 'cleanup').catch(() => undefined);
      await app.stop();
    }
  });

  test('counts hits and misses from real replies, pipelines, MULTI, errors and offline-queued commands exactly', async () => {
    if (!mainRedis) return;
    app = await startApp(fixture, {
      env: { REDIS_URL: 'redis://127.0.0.1:6379', PREFIX: prefix, BIZMON_ADMIN_TOKEN: 'admin' },
    });
    await call(app, 'basic');
    expect(await call(app, 'pipeline')).toEqual(['OK', 'x', null, 1]);
    expect(await call(app, 'multi')).toEqual(['OK', 'x', null]);
    expect(await call(app, 'error')).toBe('ReplyError');
    await call(app, 'offline');
    const families = await scrape(app);
    expect(ops(families, 'get', 'hit')).toBe(9);
    expect(ops(families, 'get', 'miss')).toBe(8);
    expect(ops(families, 'get', 'error')).toBe(1);
    expect(ops(families, 'set', 'success')).toBe(6);
    expect(ops(families, 'delete', 'success')).toBe(3);
    expect(ops(families, 'other', 'success')).toBe(0); // handshake, INFO and PING are not cache operations
    expect(
      sampleValue(families, 'cache_operation_duration_seconds_count', { operation: 'get' }),
    ).toBe(16);
    expect(
      sampleValue(families, 'cache_operation_duration_seconds_count', { operation: 'set' }),
    ).toBe(6);
    expect(sampleValue(families, 'cache_hit_rate')).toBeCloseTo(9 / 17, 10);
    expect(
      sampleValue(families, 'application_errors_total', {
        error_type: 'ReplyError',
        component: 'cache',
      }),
    ).toBe(1);

    // Memory from INFO memory of the same server; maxmemory 0 means the ratio is over system memory.
    const info = await sendCommand(6379, ['INFO', 'memory']);
    const used = infoField(info, 'used_memory');
    const max = infoField(info, 'maxmemory');
    const limit = max > 0 ? max : infoField(info, 'total_system_memory');
    const size = sampleValue(families, 'cache_size_bytes');
    expect(Math.abs(size - used) / used).toBeLessThan(0.05);
    expect(sampleValue(families, 'redis_memory_usage_ratio')).toBeCloseTo(size / limit, 8);
    const health = await get(`http://127.0.0.1:${app.exporterPort}/health`, {
      authorization: 'Bearer admin',
    });
    expect(JSON.parse(health.body).checks.redis).toEqual({ healthy: true, message: 'ok' });
  });
});

describe('Redis servers the test starts', () => {
  let server: LocalRedis | undefined;
  let cluster: LocalRedis | undefined;
  let app: RunningApp | undefined;

  afterAll(async () => {
    await app?.stop();
    await server?.stop();
    await cluster?.stop();
  });

  test('memory against maxmemory, INFO fetched once however often scraped, a Cluster client, and the health check', async () => {
    if (!redisBinary) return;
    server = await startRedis(['--maxmemory', '64mb']);
    cluster = await startRedis([], { cluster: true });
    app = await startApp(fixture, {
      env: {
        REDIS_URL: server.url,
        PREFIX: prefix,
        CLUSTER_PORT: String(cluster.port),
        BIZMON_ADMIN_TOKEN: 'admin',
      },
    });

    await call(app, 'many'); // 200 GETs, all misses
    const infoCalls = async (): Promise<number> => {
      const m = /cmdstat_info:calls=(\d+)/.exec(await server!.command('INFO', 'commandstats'));
      return m ? Number(m[1]) : 0;
    };
    const before = await infoCalls();
    let families = await scrape(app);
    for (let i = 0; i < 9; i++) families = await scrape(app);
    // Ten scrapes within the interval: at most one INFO from bizmon (plus the one above).
    expect((await infoCalls()) - before).toBeLessThanOrEqual(2);
    const used = infoField(await server.command('INFO', 'memory'), 'used_memory');
    const size = sampleValue(families, 'cache_size_bytes');
    expect(Math.abs(size - used) / used).toBeLessThan(0.05);
    expect(sampleValue(families, 'redis_memory_usage_ratio')).toBeCloseTo(
      size / (64 * 1024 * 1024),
      8,
    );
    expect(ops(families, 'get', 'miss')).toBe(200);
    expect(sampleValue(families, 'cache_hit_rate')).toBe(0);

    await call(app, 'cluster');
    families = await scrape(app);
    expect(ops(families, 'set', 'success')).toBe(2);
    expect(ops(families, 'get', 'hit')).toBe(2);
    expect(ops(families, 'get', 'miss')).toBe(201);
    expect(ops(families, 'delete', 'success')).toBe(1);

    let health = await get(`http://127.0.0.1:${app.exporterPort}/health`);
    expect(health.status).toBe(200);
    await server.stop();
    // The failing server's address is a detail for the admin only.
    health = await get(`http://127.0.0.1:${app.exporterPort}/health`);
    expect(health.status).toBe(503);
    expect(health.body).not.toContain(`127.0.0.1:${server.port}`);
    health = await get(`http://127.0.0.1:${app.exporterPort}/health`, {
      authorization: 'Bearer admin',
    });
    expect(health.status).toBe(503);
    const report = JSON.parse(health.body);
    expect(report.checks.redis.healthy).toBe(false);
    expect(report.checks.redis.message).toContain(`127.0.0.1:${server.port}`);
    expect((await get(`http://127.0.0.1:${app.port}/ping`)).status).toBe(200);
  });
});
