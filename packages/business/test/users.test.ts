import { credits, startUserActivity, users } from '@bizmon/business';
import { sampleValue } from '../../../test/support/exposition';
import { one, useTelemetry } from './telemetry';

let now = 0;
const clock = (): number => now;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

// Helpers are no-ops that never throw before anything started.
test.each([['seen'], ['registered']] as const)('users.%s before start is a no-op', (name) => {
  expect(() => users[name]('early')).not.toThrow();
});

const { scrape } = useTelemetry();

beforeEach(async () => {
  // 2025-03-10 12:00 in Shanghai (UTC+8).
  now = Date.UTC(2025, 2, 10, 4, 0, 0);
  await startUserActivity({ clock, timezone: 'Asia/Shanghai' });
});

async function figures(): Promise<Record<string, number | undefined>> {
  const f = await scrape();
  return {
    active: one(f, 'active_users_current'),
    daily: one(f, 'daily_active_users'),
    monthly: one(f, 'monthly_active_users'),
    conversion: one(f, 'credit_conversion_rate'),
    d1: one(f, 'user_retention_rate', { period: 'd1' }),
    d7: one(f, 'user_retention_rate', { period: 'd7' }),
    d30: one(f, 'user_retention_rate', { period: 'd30' }),
  };
}

test('seen counts distinct users now, today and over 30 days', async () => {
  users.seen('alice');
  users.seen('bob');
  users.seen('alice');
  users.seen(42);
  expect(await figures()).toMatchObject({ active: 3, daily: 3, monthly: 3, conversion: 0 });
  // Six minutes later nobody is "current", but they are still today's users.
  now += 6 * MINUTE + 1;
  users.seen('carol');
  expect(await figures()).toMatchObject({ active: 1, daily: 4, monthly: 4 });
});

test('active_users_current covers the last five minutes', async () => {
  users.seen('u1');
  now += 4 * MINUTE;
  users.seen('u2');
  expect((await figures()).active).toBe(2);
  now += 2 * MINUTE; // u1 is now 6 minutes old
  expect((await figures()).active).toBe(1);
  now += 10 * MINUTE;
  expect((await figures()).active).toBe(0);
});

test('"today" follows BIZMON_TIMEZONE and MAU spans 30 days', async () => {
  now = Date.UTC(2025, 2, 10, 15, 58); // 23:58 in Shanghai
  users.seen('late');
  now = Date.UTC(2025, 2, 10, 16, 1); // 00:01 the next day there, still the 10th in UTC
  users.seen('early-bird');
  expect(await figures()).toMatchObject({ daily: 1, monthly: 2 });
  now += 29 * DAY;
  users.seen('much-later');
  expect(await figures()).toMatchObject({ daily: 1, monthly: 2 }); // 'late' fell out, 'early-bird' is 29 days old
  now += DAY;
  expect(await figures()).toMatchObject({ daily: 0, monthly: 1 });
});

test('retention is the share of a registration cohort active today', async () => {
  for (let i = 0; i < 10; i++) users.registered(`r${i}`);
  for (let i = 0; i < 4; i++) users.registered(`w${i}`);
  const before = await figures();
  expect(before).toMatchObject({ d1: undefined, d7: undefined, d30: undefined });
  now += DAY;
  for (let i = 0; i < 3; i++) users.seen(`r${i}`);
  users.seen('r1');
  users.seen('stranger');
  expect(await figures()).toMatchObject({ d1: 3 / 14, d7: undefined });
  now += 6 * DAY;
  users.seen('w0');
  expect(await figures()).toMatchObject({ d1: undefined, d7: 1 / 14 });
  now += 23 * DAY;
  for (let i = 0; i < 7; i++) users.seen(`r${i}`);
  expect(await figures()).toMatchObject({ d30: 7 / 14 });
  const f = await scrape();
  expect(sampleValue(f, 'new_users_registered_total')).toBeGreaterThanOrEqual(14);
});

test('credit_conversion_rate is distinct purchasers today over DAU', async () => {
  expect((await figures()).conversion).toBeUndefined(); // no users, no ratio
  for (let i = 0; i < 8; i++) users.seen(`c${i}`);
  credits.purchased({ amount: 10, userId: 'c1' });
  credits.purchased({ amount: 10, userId: 'c1' });
  credits.purchased({ amount: 10, userId: 'c2' });
  expect(await figures()).toMatchObject({ daily: 8, conversion: 2 / 8 });
  now += DAY;
  users.seen('c1');
  expect(await figures()).toMatchObject({ daily: 1, conversion: 0 });
});

test('10,000 users are counted within 1% in bounded memory', async () => {
  for (let i = 0; i < 10_000; i++) users.seen(`user-${i}@example.com`);
  const { daily, monthly, active } = await figures();
  for (const value of [daily, monthly, active])
    expect(Math.abs(value! - 10_000) / 10_000).toBeLessThan(0.01);
});

test('hostile ids are dropped and counted, never thrown', async () => {
  const f0 = await scrape();
  const dropped0 = sampleValue(f0, 'bizmon_dropped_measurements_total', {
    metric: 'daily_active_users',
  });
  for (const bad of [undefined, null, '', 'x'.repeat(257), NaN, Infinity, {}, ['a']]) {
    expect(() => users.seen(bad as never)).not.toThrow();
  }
  expect(() => users.registered(undefined as never)).not.toThrow();
  const f = await scrape();
  expect(
    sampleValue(f, 'bizmon_dropped_measurements_total', {
      metric: 'daily_active_users',
      reason: 'invalid_value',
    }) - dropped0,
  ).toBe(8);
  expect(
    sampleValue(f, 'bizmon_dropped_measurements_total', { metric: 'new_users_registered_total' }),
  ).toBe(1);
  expect(sampleValue(f, 'daily_active_users')).toBe(0);
});
