/**
 * @bizmon/http end to end: real Express 4/5, Fastify 4/5, Koa, NestJS and node:http apps in child
 * processes, preloaded with @bizmon/node/register, checked through the exporter's /metrics.
 */
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import {
  expectMatchesCatalog,
  parseExposition,
  sampleValue,
  type Family,
} from './support/exposition';
import { get, startApp, type RunningApp } from './support/apps';
import { express4Env, fastify4Env, removeAliasCopies } from './support/framework-apps';

const fixtures = join(__dirname, 'fixtures');
const ADMIN_TOKEN = 'http-test-admin-token';

afterAll(removeAliasCopies);

async function scrape(app: RunningApp): Promise<Map<string, Family>> {
  const res = await get(`http://127.0.0.1:${app.exporterPort}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(res.body);
}

async function metric(
  app: RunningApp,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return sampleValue(await scrape(app), name, labels);
}

/** Polls until `read()` returns `expected` (or fails with the last value after `timeoutMs`). */
async function eventually(
  read: () => Promise<number>,
  expected: number,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    last = await read();
  }
  expect(last).toBe(expected);
}

/** Runs `count` requests built by `request(i)`, `concurrency` at a time. */
async function many(
  count: number,
  concurrency: number,
  request: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await request(next++);
    }),
  );
}

/** A GET over a keep-alive agent, cheaper than fetch for thousands of requests. */
function quickGet(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function seriesCount(families: Map<string, Family>, name: string): number {
  return families.get(name)?.samples.length ?? 0;
}

/**
 * [name, fixture, environment, random URLs to probe]. Every app gets well over the 600 a minute
 * that trigger API abuse; 10,000 on one framework app and on node:http keeps the run short.
 */
const apps: [string, string, () => Record<string, string>, number][] = [
  ['Express 5', 'http-express.cjs', () => ({}), 10_000],
  ['Express 4', 'http-express.cjs', express4Env, 2_000],
  ['Fastify 5', 'http-fastify.cjs', () => ({}), 2_000],
  ['Fastify 4', 'http-fastify.cjs', fastify4Env, 2_000],
  ['Koa + @koa/router', 'http-koa.cjs', () => ({}), 2_000],
  ['NestJS on Express', 'http-nest.cjs', () => ({}), 2_000],
  ['node:http', 'http-plain.cjs', () => ({}), 10_000],
];

describe.each(apps)('%s, preloaded', (name, script, env, probes) => {
  let app: RunningApp;
  let base: string;
  const isPlain = script === 'http-plain.cjs';
  // These fixtures report login failures through @bizmon/business's security.loginFailure.
  const viaBusiness = isPlain || script === 'http-koa.cjs';

  beforeAll(async () => {
    app = await startApp(join(fixtures, script), {
      env: {
        ...env(),
        BIZMON_ADMIN_TOKEN: ADMIN_TOKEN,
        BIZMON_HTTP_IGNORE: '/internal,/ping',
        OTEL_SERVICE_NAME: `http-${name}`,
        // What the context carries, from the first request on (on-demand arming has its own
        // tests in packages/http/test/recorder.test.ts and test/business-preload.test.ts).
        BIZMON_REQUEST_CONTEXT: 'always',
      },
    });
    base = `http://127.0.0.1:${app.port}`;
  });
  afterAll(() => app?.stop());

  test('route templates, roles set after routing, thrown errors, activity', async () => {
    const admin = await get(`${base}/api/users/7`, { 'x-user': 'u1:admin' });
    expect(admin.status).toBe(200);
    // The request context reaches the handler: business helpers get this default role.
    expect(JSON.parse(admin.body)).toEqual({ id: '7', role: 'admin' });
    expect((await get(`${base}/api/users/8`, { 'x-user': 'u2:vip', 'x-auth': 'req' })).status).toBe(
      200,
    );
    expect((await get(`${base}/api/users/9`)).status).toBe(200);
    for (const id of ['1', '2', '550e8400-e29b-41d4-a716-446655440000'])
      expect((await get(`${base}/items/${id}`)).status).toBe(200);
    expect((await get(`${base}/no/such/path`)).status).toBe(404);
    expect((await get(`${base}/boom`)).status).toBe(500);
    expect((await get(`${base}/internal/health`)).status).toBe(404);
    expect((await get(`${base}/ping`)).status).toBe(404);

    const families = expectMatchesCatalog(
      (await get(`http://127.0.0.1:${app.exporterPort}/metrics`)).body,
    );
    const requests = (labels: Record<string, string>): number =>
      sampleValue(families, 'http_requests_total', labels);
    const users = { method: 'GET', endpoint: '/api/users/:id', status_code: '200' };
    expect(requests({ ...users, user_role: 'admin' })).toBe(1);
    expect(requests({ ...users, user_role: 'vip' })).toBe(1);
    expect(requests({ ...users, user_role: 'anonymous' })).toBe(1);
    expect(requests({ endpoint: '/items/:id', status_code: '200' })).toBe(3);
    // Ignored prefixes are not counted: one 404, from /no/such/path.
    expect(requests({ endpoint: 'unmatched', status_code: '404' })).toBe(1);
    expect(requests({ endpoint: '/boom', status_code: '500' })).toBe(1);
    expect(
      sampleValue(families, 'http_request_duration_seconds_count', {
        method: 'GET',
        endpoint: '/api/users/:id',
      }),
    ).toBe(3);
    const endpoints = new Set(
      families.get('http_requests_total')!.samples.map((s) => s.labels.endpoint),
    );
    expect([...endpoints].sort()).toEqual(['/api/users/:id', '/boom', '/items/:id', 'unmatched']);
    // node:http apps catch their own errors; frameworks report the thrown class.
    expect(
      sampleValue(families, 'application_errors_total', {
        error_type: 'PaymentError',
        component: 'http',
      }),
    ).toBe(isPlain ? 0 : 1);
    expect(sampleValue(families, 'http_concurrent_connections')).toBe(0);

    // A known user id counts as activity (listeners of onAuthenticatedRequest).
    const seen = JSON.parse((await get(`${base}/seen`)).body) as string[];
    expect(seen).toEqual(['u1', 'u2']);
    // ... and reaches @bizmon/business's active-user metrics.
    expect(await metric(app, 'active_users_current')).toBe(2);
  });

  test('50 concurrent slow requests are in the gauge and leave it at 0; aborted requests too', async () => {
    const gauge = (): Promise<number> => metric(app, 'http_concurrent_connections');
    const slow = Promise.all(Array.from({ length: 50 }, () => get(`${base}/slow?ms=1500`)));
    await eventually(gauge, 50);
    const answers = await slow;
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await eventually(gauge, 0);
    expect(
      await metric(app, 'http_requests_total', { endpoint: '/slow', status_code: '200' }),
    ).toBe(50);

    const aborts = Array.from({ length: 5 }, () => new AbortController());
    const pending = aborts.map((c) =>
      fetch(`${base}/slow?ms=1000`, { signal: c.signal }).catch((e: Error) => e.name),
    );
    await eventually(gauge, 5);
    for (const c of aborts) c.abort();
    expect(await Promise.all(pending)).toEqual(Array(5).fill('AbortError'));
    await eventually(gauge, 0);
    // Client went away before the answer: nginx's 499.
    await eventually(
      () => metric(app, 'http_requests_total', { endpoint: '/slow', status_code: '499' }),
      5,
    );
    // The handlers still finish after the abort; the gauge stays exact.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await gauge()).toBe(0);
  });

  test('the mounted /monitoring endpoints answer and are not counted', async () => {
    const before = await scrape(app);
    const health = await get(`${base}/monitoring/health`);
    expect(health.status).toBe(200);
    const report = JSON.parse(health.body) as {
      status: string;
      checks: Record<string, { healthy: boolean; message: string }>;
    };
    expect(report.status).toBe('healthy');
    expect(Object.keys(report.checks)).toEqual(
      expect.arrayContaining(['database', 'redis', 'ai_services']),
    );
    expect((await get(`${base}/monitoring/stats`)).status).toBe(401);
    expect((await get(`${base}/monitoring/stats`, { authorization: 'Bearer wrong' })).status).toBe(
      401,
    );
    const stats = await get(`${base}/monitoring/stats`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(stats.status).toBe(200);
    const body = JSON.parse(stats.body) as Record<string, unknown>;
    expect(body).toEqual({
      active_connections: 0,
      total_requests: sampleValue(before, 'http_requests_total'),
      ai_tasks_stats: {},
      cache_stats: { hits: 0, misses: 0, hit_rate: 0 },
    });
    const metrics = await get(`${base}/monitoring/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('http_requests_total{');
    const after = await scrape(app);
    expect(sampleValue(after, 'http_requests_total')).toBe(
      sampleValue(before, 'http_requests_total'),
    );
    expect(
      after
        .get('http_requests_total')!
        .samples.some((s) => s.labels.endpoint!.includes('monitoring')),
    ).toBe(false);
  });

  test('the mounted endpoints answer HEAD, and other methods 405 with Allow', async () => {
    const head = await fetch(`${base}/monitoring/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await fetch(`${base}/monitoring/health`, { method });
      expect({ method, status: res.status, allow: res.headers.get('allow') }).toEqual({
        method,
        status: 405,
        allow: 'GET, HEAD',
      });
    }
  });

  test('credential stuffing fires once for many usernames from one IP, not for one user retrying', async () => {
    const stuffing = (): Promise<number> =>
      metric(app, 'suspicious_access_patterns_total', { pattern: 'credential_stuffing' });
    for (let i = 0; i < 5; i++)
      expect((await fetch(`${base}/login?u=alice`, { method: 'POST' })).status).toBe(401);
    expect(await stuffing()).toBe(0);
    for (let i = 0; i < 12; i++) await fetch(`${base}/login?u=user${i}`, { method: 'POST' });
    expect(await stuffing()).toBe(1);
    if (viaBusiness)
      expect(await metric(app, 'login_failures_total', { reason: 'bad_password' })).toBe(17);
    expect(
      await metric(app, 'security_events_total', {
        event_type: 'suspicious_access',
        severity: 'critical',
      }),
    ).toBe(1);
    // Normal traffic so far: no API abuse, no scanning.
    expect(await metric(app, 'api_abuse_detected_total')).toBe(0);
    expect(await metric(app, 'suspicious_access_patterns_total', { pattern: 'scanning' })).toBe(0);
  });

  test(`${probes} distinct random URLs add no series; scanning and API abuse fire once each`, async () => {
    const before = await scrape(app);
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    try {
      await many(probes, 32, async (i) => {
        expect(
          await quickGet(agent, `${base}/${Math.random().toString(36).slice(2)}/${i}/x${i * 7919}`),
        ).toBe(404);
      });
    } finally {
      agent.destroy();
    }
    const after = expectMatchesCatalog(
      (await get(`http://127.0.0.1:${app.exporterPort}/metrics`)).body,
    );
    expect(seriesCount(after, 'http_requests_total')).toBe(
      seriesCount(before, 'http_requests_total'),
    );
    expect(seriesCount(after, 'http_request_duration_seconds')).toBe(
      seriesCount(before, 'http_request_duration_seconds'),
    );
    expect(
      sampleValue(after, 'http_requests_total', { endpoint: 'unmatched', status_code: '404' }),
    ).toBe(
      sampleValue(before, 'http_requests_total', { endpoint: 'unmatched', status_code: '404' }) +
        probes,
    );
    expect(sampleValue(after, 'suspicious_access_patterns_total', { pattern: 'scanning' })).toBe(1);
    expect(sampleValue(after, 'api_abuse_detected_total', { rule: 'request_rate' })).toBe(1);
    expect(sampleValue(after, 'security_events_total', { event_type: 'api_abuse' })).toBe(1);
    expect(
      sampleValue(after, 'security_events_total', {
        event_type: 'suspicious_access',
        severity: 'warning',
      }),
    ).toBe(1);
  });
});

describe('edge cases', () => {
  test('an ESM Express app preloaded with --import gets templates and roles', async () => {
    const app = await startApp(join(fixtures, 'http-express.mjs'), {
      preload: '--import',
      env: { BIZMON_REQUEST_CONTEXT: 'always' },
    });
    try {
      const res = await get(`http://127.0.0.1:${app.port}/api/users/42`);
      expect(JSON.parse(res.body)).toEqual({ id: '42', role: 'admin' });
      await eventually(
        () =>
          metric(app, 'http_requests_total', {
            endpoint: '/api/users/:id',
            status_code: '200',
            user_role: 'admin',
          }),
        1,
      );
    } finally {
      await app.stop();
    }
  });

  test('without BIZMON_ADMIN_TOKEN the mounted /stats answers 403', async () => {
    const app = await startApp(join(fixtures, 'http-plain.cjs'), {
      env: { BIZMON_ADMIN_TOKEN: '' },
    });
    try {
      expect(
        (await get(`http://127.0.0.1:${app.port}/monitoring/stats`, { authorization: 'Bearer x' }))
          .status,
      ).toBe(403);
      expect((await get(`http://127.0.0.1:${app.exporterPort}/stats`)).status).toBe(403);
    } finally {
      await app.stop();
    }
  });
});
