/**
 * Issue #13, finding 9: `/health` must not tell strangers about the infrastructure. Without the
 * admin token each check gives its status only; the messages (which quote drivers' errors: user
 * names, internal hosts and ports) need `Authorization: Bearer $BIZMON_ADMIN_TOKEN`.
 */
import { join } from 'node:path';
import { freePort, get, startApp, type RunningApp } from './support/apps';
import { hasServer } from './support/env';

const fixtures = join(__dirname, 'fixtures');
const ADMIN = 'h13-admin-token';
const ROLE = 'bizmon_h13_no_such_role';

async function expectStatusOnly(url: string, leaks: string[]): Promise<void> {
  const attempts: Record<string, string>[] = [
    {},
    { authorization: 'Bearer wrong' },
    { authorization: ADMIN }, // the token without "Bearer "
  ];
  for (const headers of attempts) {
    const res = await get(url, headers);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({
      status: 'unhealthy',
      timestamp: expect.any(String),
      checks: {
        database: { healthy: false },
        redis: { healthy: true },
        ai_services: { healthy: true },
      },
    });
    for (const leak of leaks) expect(res.body).not.toContain(leak);
  }
}

async function detailsWithToken(url: string): Promise<string> {
  const res = await get(url, { authorization: `Bearer ${ADMIN}` });
  expect(res.status).toBe(503);
  const report = JSON.parse(res.body) as { checks: { database: { message: string } } };
  return report.checks.database.message;
}

test("a preloaded pg app's exporter: the refused host and port are for the admin only", async () => {
  const port = await freePort();
  const app = await startApp(join(fixtures, 'db-app.cjs'), {
    env: {
      DATABASE_URL: `postgres://${ROLE}:pw@127.0.0.1:${port}/test`,
      TABLE: 'unused',
      BIZMON_ADMIN_TOKEN: ADMIN,
    },
  });
  try {
    const url = `http://127.0.0.1:${app.exporterPort}/health`;
    await expectStatusOnly(url, [String(port), 'ECONNREFUSED']);
    expect(await detailsWithToken(url)).toContain(`127.0.0.1:${port}`);
  } finally {
    await app.stop();
  }
});

test('a preloaded pg app against the real PostgreSQL: the user name is for the admin only', async () => {
  if (!(await hasServer('PostgreSQL', '127.0.0.1', 5432))) return;
  const app: RunningApp = await startApp(join(fixtures, 'db-app.cjs'), {
    env: {
      DATABASE_URL: `postgres://${ROLE}@127.0.0.1:5432/test`,
      TABLE: 'unused',
      BIZMON_ADMIN_TOKEN: ADMIN,
    },
  });
  try {
    const url = `http://127.0.0.1:${app.exporterPort}/health`;
    await expectStatusOnly(url, [ROLE]);
    expect(await detailsWithToken(url)).toBe(`role "${ROLE}" does not exist`);
  } finally {
    await app.stop();
  }
});

test.each(['plain', 'express'])(
  'createMonitoringHandler in a %s app: details for the admin only, URL credentials masked',
  async (kind) => {
    const app = await startApp(join(fixtures, 'monitoring-app.cjs'), {
      env: {
        MONITORING_APP: kind,
        BIZMON_ADMIN_TOKEN: ADMIN,
        HEALTH_ERROR: 'cannot reach postgres://billing_rw:hunter2@db-7.internal:5433/app',
      },
    });
    try {
      const url = `http://127.0.0.1:${app.port}/monitoring/health`;
      await expectStatusOnly(url, ['billing_rw', 'db-7.internal', '5433', 'hunter2']);
      expect(await detailsWithToken(url)).toBe(
        'cannot reach postgres://***@db-7.internal:5433/app',
      );
    } finally {
      await app.stop();
    }
  },
);
