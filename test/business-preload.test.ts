import { join } from 'node:path';
import { Redis } from 'ioredis';
import { expectMatchesCatalog, sampleValue } from './support/exposition';
import { get, startApp, type RunningApp } from './support/apps';
import { hasServer } from './support/env';

const app = join(__dirname, 'fixtures', 'business-app.cjs');
const REDIS_URL = 'redis://127.0.0.1:6379';

async function taskRequest(running: RunningApp, role?: string): Promise<boolean> {
  const res = await get(
    `http://127.0.0.1:${running.port}/task`,
    role === undefined ? {} : { 'x-role': role },
  );
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { inContext: boolean }).inContext;
}

test('inside a request of a preloaded app the helpers take the request user role', async () => {
  const running = await startApp(app, { env: { BIZMON_REQUEST_CONTEXT: 'on-demand' } });
  try {
    // On demand (the default): the app loaded @bizmon/business, which armed the context before
    // it served, so the very first request has one.
    expect(await taskRequest(running, 'vip')).toBe(true);
    expect(await taskRequest(running, 'vip')).toBe(true);
    expect(await taskRequest(running)).toBe(true);
    const f = expectMatchesCatalog(
      (await get(`http://127.0.0.1:${running.exporterPort}/metrics`)).body,
    );
    const tasks = (labels: Record<string, string>): number | undefined =>
      sampleValue(f, 'ai_tasks_total', labels);
    expect(tasks({ service: 'midjourney', status: 'pending', user_role: 'vip' })).toBe(2);
    expect(tasks({ service: 'flux', status: 'success', user_role: 'vip' })).toBe(2);
    expect(
      sampleValue(f, 'credits_operations_total', { operation: 'consume', user_role: 'vip' }),
    ).toBe(2);
    expect(sampleValue(f, 'credits_consumed_total', { user_role: 'vip' })).toBe(10);
    // Without a role the request user is anonymous — never the seed's hard-coded "user".
    expect(tasks({ service: 'midjourney', status: 'pending', user_role: 'anonymous' })).toBe(1);
    expect(tasks({ user_role: 'user' })).toBe(0);
    expect(
      sampleValue(f, 'ai_task_duration_seconds_count', { service: 'flux', mode: 'fast' }),
    ).toBe(3);
  } finally {
    await running.stop();
  }
});

test('by default (on-demand before Node 24, always on 24) the first request has its context', async () => {
  // Before Node 24 the app's own loading of @bizmon/business arms it; on 24 it is always on.
  const running = await startApp(app);
  try {
    expect(await taskRequest(running, 'vip')).toBe(true);
  } finally {
    await running.stop();
  }
});

test('BIZMON_REQUEST_CONTEXT=always gives the very first request its context', async () => {
  const running = await startApp(app, { env: { BIZMON_REQUEST_CONTEXT: 'always' } });
  try {
    expect(await taskRequest(running, 'vip')).toBe(true);
    const f = expectMatchesCatalog(
      (await get(`http://127.0.0.1:${running.exporterPort}/metrics`)).body,
    );
    expect(
      sampleValue(f, 'ai_tasks_total', { service: 'flux', status: 'success', user_role: 'vip' }),
    ).toBe(1);
    expect(sampleValue(f, 'credits_consumed_total', { user_role: 'vip' })).toBe(5);
  } finally {
    await running.stop();
  }
});

test('two instances sharing Redis report the same DAU/MAU for 10,000 users each saw part of', async () => {
  if (!(await hasServer('Redis', '127.0.0.1', 6379))) return;
  const prefix = `bizmon-test:${process.pid}:${Date.now()}:`;
  const env = { BIZMON_REDIS_URL: REDIS_URL, BIZMON_REDIS_PREFIX: prefix };
  const apps: RunningApp[] = [];
  const redis = new Redis(REDIS_URL);
  try {
    apps.push(await startApp(app, { env }), await startApp(app, { env }));
    const [a, b] = apps as [RunningApp, RunningApp];
    // Overlapping halves: a sees 0..5999, b sees 4000..9999.
    await Promise.all([
      get(`http://127.0.0.1:${a.port}/seen?from=0&to=6000`),
      get(`http://127.0.0.1:${b.port}/seen?from=4000&to=10000`),
    ]);
    const figures = [];
    for (const running of apps) {
      const f = expectMatchesCatalog(
        (await get(`http://127.0.0.1:${running.exporterPort}/metrics`)).body,
      );
      // The activity store's own connection (OWN_REDIS_CONNECTION_NAME) is not the app's cache.
      expect(sampleValue(f, 'cache_operations_total')).toBe(0);
      expect(sampleValue(f, 'cache_operation_duration_seconds_count')).toBe(0);
      figures.push({
        daily: sampleValue(f, 'daily_active_users'),
        monthly: sampleValue(f, 'monthly_active_users'),
        active: sampleValue(f, 'active_users_current'),
      });
    }
    process.stderr.write(`two instances report ${JSON.stringify(figures)}\n`);
    for (const { daily, monthly, active } of figures) {
      for (const value of [daily, monthly, active])
        expect(Math.abs(value - 10_000) / 10_000).toBeLessThanOrEqual(0.01);
    }
    expect(figures[0]).toEqual(figures[1]);
  } finally {
    await Promise.all(apps.map((r) => r.stop()));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
});
