import { startUserActivity, users } from '@bizmon/business';
import { one, useTelemetry } from './telemetry';

// The app has no ioredis: requiring it fails as Node fails for a package that is not installed.
// (ioredis is an optional peer of @bizmon/business; the monorepo has it for the other tests.)
jest.mock('ioredis', () => {
  const err = new Error("Cannot find module 'ioredis'") as NodeJS.ErrnoException;
  err.code = 'MODULE_NOT_FOUND';
  throw err;
});

const { scrape, logged } = useTelemetry();

test('BIZMON_REDIS_URL without ioredis warns once, by name, and counts users per process', async () => {
  await startUserActivity({ redisUrl: 'redis://127.0.0.1:6379', redisPrefix: 'never-used:' });
  const warnings = logged().filter((line) => line.includes('ioredis'));
  expect(warnings).toEqual([
    '[bizmon] warning: user activity: BIZMON_REDIS_URL is set but ioredis is not installed in this app (npm install ioredis); counting active users per process instead\n',
  ]);
  users.seen('carol');
  users.seen('dave');
  expect(one(await scrape(), 'daily_active_users')).toBe(2);
});
