/**
 * The request context under the default BIZMON_REQUEST_CONTEXT=on-demand: an app that loads
 * @bizmon/http or @bizmon/business counts with the right role from its very first request,
 * requests in flight together included; an app that only runs with the preload does not pay
 * for the context.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BIZMON_VERSION } from '@bizmon/core';
import { expectMatchesCatalog, sampleValue } from './support/exposition';
import { get, startApp } from './support/apps';

const fixture = join(__dirname, 'fixtures', 'first-requests.cjs');

describe.each(['express', 'fastify', 'koa'])('%s: five requests right after start', (framework) => {
  test('all five count with their user role, none anonymous', async () => {
    const app = await startApp(fixture, { env: { FRAMEWORK: framework } });
    try {
      // All five in flight at once, the first requests the app ever serves.
      const responses = await Promise.all(
        [1, 2, 3, 4, 5].map((i) =>
          get(`http://127.0.0.1:${app.port}/tasks/${i}`, { 'x-user': `u-${i}:vip` }),
        ),
      );
      expect(responses.map((r) => [r.status, JSON.parse(r.body)])).toEqual(
        Array(5).fill([200, { role: 'vip' }]),
      );
      const metrics = await get(`http://127.0.0.1:${app.exporterPort}/metrics`);
      const families = expectMatchesCatalog(metrics.body);
      const tasks = (status: string, role: string): number | undefined =>
        sampleValue(families, 'ai_tasks_total', {
          service: 'midjourney',
          status,
          user_role: role,
        });
      expect(tasks('pending', 'vip')).toBe(5);
      expect(tasks('success', 'vip')).toBe(5);
      expect(tasks('pending', 'anonymous') ?? 0).toBe(0);
      expect(tasks('success', 'anonymous') ?? 0).toBe(0);
      expect(
        sampleValue(families, 'http_requests_total', {
          method: 'GET',
          endpoint: '/tasks/:id',
          status_code: '200',
          user_role: 'vip',
        }),
      ).toBe(5);
    } finally {
      await app.stop();
    }
  });
});

/** Whether the request context is armed once the preload started and `code` ran. */
function armedAfter(code: string): boolean {
  // The shared state's key carries the major version (packages/core/src/base/state.ts).
  const key = `bizmon.core.v${BIZMON_VERSION.split('.')[0]}`;
  const probe = `${code};setImmediate(()=>console.log(globalThis[Symbol.for('${key}')].requestContextInUse))`;
  const out = execFileSync(process.execPath, ['--require', '@bizmon/node/register', '-e', probe], {
    env: {
      ...process.env,
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
    },
    encoding: 'utf8',
  });
  return out.trim().split('\n').pop() === 'true';
}

test('the preload alone leaves the context unarmed; loading @bizmon/http or @bizmon/business arms it', () => {
  expect(armedAfter("require('node:http')")).toBe(false);
  expect(armedAfter("require('@bizmon/http')")).toBe(true);
  expect(armedAfter("require('@bizmon/business')")).toBe(true);
  // bizmon's own plugin entries are not the app's.
  expect(armedAfter("require('@bizmon/http/plugin');require('@bizmon/business/plugin')")).toBe(
    false,
  );
});
