import { Redis } from 'ioredis';
import { credits, startUserActivity, stopUserActivity, users } from '@bizmon/business';
import { sampleValue } from '../../../test/support/exposition';
import { one, useTelemetry } from './telemetry';
import { hasServer } from '../../../test/support/env';
import { freePort } from '../../../test/support/apps';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `bizmon-test:${process.pid}:${Date.now()}:`;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
let redisUp = false;

beforeAll(async () => {
  redisUp = await hasServer('Redis', '127.0.0.1', 6379);
});

describe('user activity in Redis', () => {
  const { scrape, logged } = useTelemetry();
  let redis: Redis;
  let now = 0;
  const clock = (): number => now;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { lazyConnect: true });
  });

  afterAll(async () => {
    if (!redisUp) return;
    await stopUserActivity();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('writes per-day HyperLogLogs with expiry, off the request path', async () => {
    if (!redisUp) return;
    now = Date.UTC(2025, 5, 1, 10, 0);
    await startUserActivity({
      redisUrl: REDIS_URL,
      redisPrefix: `${prefix}a:`,
      clock,
      timezone: 'Europe/Berlin',
      flushIntervalMs: 60_000,
    });
    users.seen('anna');
    users.seen('ben');
    users.seen('anna');
    // Nothing is written until the batch is flushed (timer, size, or scrape).
    expect(await redis.exists(`${prefix}a:dau:2025-06-01`)).toBe(0);
    await users.flush();
    expect(await redis.pfcount(`${prefix}a:dau:2025-06-01`)).toBe(2);
    const ttl = await redis.ttl(`${prefix}a:dau:2025-06-01`);
    expect(ttl).toBeGreaterThan(30 * 86_400);
    expect(ttl).toBeLessThanOrEqual(35 * 86_400);
    const minuteKey = `${prefix}a:active:${Math.floor(now / MINUTE)}`;
    expect(await redis.pfcount(minuteKey)).toBe(2);
    expect(await redis.ttl(minuteKey)).toBeLessThanOrEqual(15 * 60);
    const f = await scrape();
    expect([
      one(f, 'daily_active_users'),
      one(f, 'monthly_active_users'),
      one(f, 'active_users_current'),
    ]).toEqual([2, 2, 2]);
  });

  test('retention and conversion are computed from the shared cohorts', async () => {
    if (!redisUp) return;
    now = Date.UTC(2025, 5, 1, 10, 0);
    await startUserActivity({
      redisUrl: REDIS_URL,
      redisPrefix: `${prefix}b:`,
      clock,
      timezone: 'UTC',
      flushIntervalMs: 60_000,
    });
    for (let i = 0; i < 10; i++) users.registered(`r${i}`);
    await users.flush();
    expect(await redis.scard(`${prefix}b:reg:2025-06-01`)).toBe(10);
    now += DAY;
    for (let i = 0; i < 4; i++) users.seen(`r${i}`);
    users.seen('stranger');
    credits.purchased({ amount: 50, userId: 'r0' });
    const f = await scrape();
    expect(one(f, 'user_retention_rate', { period: 'd1' })).toBe(0.4);
    expect(one(f, 'user_retention_rate', { period: 'd7' })).toBeUndefined();
    expect(one(f, 'daily_active_users')).toBe(5);
    expect(one(f, 'monthly_active_users')).toBe(11);
    expect(one(f, 'credit_conversion_rate')).toBe(0.2);
    now += 6 * DAY;
    users.seen('r9');
    expect(one(await scrape(), 'user_retention_rate', { period: 'd7' })).toBe(0.1);
  });

  test('Redis down: helpers never throw, no figures are published, the buffer is bounded and drops are counted', async () => {
    if (!redisUp) return;
    const closedPort = await freePort();
    await startUserActivity({
      redisUrl: `redis://127.0.0.1:${closedPort}`,
      redisPrefix: `${prefix}c:`,
      maxBuffered: 100,
      flushIntervalMs: 60_000,
    });
    const before = sampleValue(await scrape(), 'bizmon_dropped_measurements_total', {
      metric: 'daily_active_users',
    });
    for (let i = 0; i < 150; i++) expect(() => users.seen(`down-${i}`)).not.toThrow();
    await users.flush();
    const started = Date.now();
    const f = await scrape();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(f.get('daily_active_users')?.samples ?? []).toEqual([]);
    expect(f.get('monthly_active_users')?.samples ?? []).toEqual([]);
    expect(
      sampleValue(f, 'bizmon_dropped_measurements_total', { metric: 'daily_active_users' }) -
        before,
    ).toBe(50);
    const lines = logged().filter((l) => l.includes('Redis is unreachable'));
    expect(lines).toHaveLength(1);
    await stopUserActivity();
  });
});
