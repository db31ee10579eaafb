/**
 * No client can add series under a framework: whatever method and path a client sends, a request
 * the framework answers without a matched route (404, Express's automatic OPTIONS answer, 405 and
 * 501 from @koa/router, a body-parser 400 before routing, a bad URL…) is `unmatched`, so the
 * `endpoint` values stay within the app's route templates + `unmatched`; real routes keep their
 * template. Property-based (fast-check, fixed seed, bounded) over the apps of
 * test/fixtures/differential, preloaded with @bizmon/node/register.
 */
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { startApp, get, type RunningApp } from './support/apps';
import { parseExposition, sampleValue, type Family } from './support/exposition';
import { differentialApps, removeAliasCopies } from './support/framework-apps';

const runner = join(__dirname, 'fixtures', 'differential', 'run.cjs');
const UNMATCHED = 'unmatched';

afterAll(removeAliasCopies);

interface Probe {
  method: string;
  path: string;
  body?: string;
}

function send(agent: Agent, port: number, probe: Probe): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (probe.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(probe.body);
    }
    const req = httpRequest(
      { host: '127.0.0.1', port, method: probe.method, path: probe.path, headers, agent },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(probe.body);
  });
}

// Methods Node's parser accepts (others never reach an app): the common ones, the ones
// frameworks answer themselves (OPTIONS, HEAD, TRACE) and a WebDAV one no app routes.
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'];
const PREFIXES = [
  '',
  '/items',
  '/api',
  '/api/users',
  '/api/users/7',
  '/echo',
  '/boom',
  '/redirect',
];
const SEGMENT_CHARS = [...'abcXYZ019-._~', '%20', '%2F', '%zz', ';', ':', '@', '!', '$'];

const segment = fc.string({ unit: fc.constantFrom(...SEGMENT_CHARS), maxLength: 10 });
const probe: fc.Arbitrary<Probe> = fc.record(
  {
    method: fc.constantFrom(...METHODS),
    path: fc
      .tuple(
        fc.constantFrom(...PREFIXES),
        fc.array(segment, { maxLength: 4 }),
        fc.boolean(),
        fc.option(fc.constantFrom('?x=1', '?a=%zz&b', '?'), { nil: undefined }),
      )
      .map(([prefix, segments, slash, query]) => {
        const path = [prefix, ...segments].join('/') || '/';
        return `${path.startsWith('/') ? path : `/${path}`}${slash ? '/' : ''}${query ?? ''}`;
      }),
    body: fc.option(fc.constantFrom('{"a":1}', '{"a":', '[]'), { nil: undefined }),
  },
  { requiredKeys: ['method', 'path'] },
);

function endpoints(families: Map<string, Family>, name: string): Set<string> {
  return new Set((families.get(name)?.samples ?? []).map((s) => s.labels.endpoint!));
}

/** Series of a counter, or of a histogram through its `_count` samples. */
function seriesCount(families: Map<string, Family>, sample: string): number {
  const family = families.get(sample.replace(/_count$/, ''));
  return (family?.samples ?? []).filter((s) => s.name === sample).length;
}

async function scrape(app: RunningApp): Promise<Map<string, Family>> {
  const res = await get(`http://127.0.0.1:${app.exporterPort}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(res.body);
}

describe.each(differentialApps)('%s, preloaded', (_name, script, env) => {
  let app: RunningApp;
  let routes: string[];
  let agent: Agent;

  beforeAll(async () => {
    app = await startApp(runner, {
      env: { ...env(), DIFF_APP: script, DIFF_SERVE: '1', NODE_ENV: 'production' },
    });
    routes = JSON.parse(/ROUTES (.*)/.exec(app.output())![1]!) as string[];
    agent = new Agent({ keepAlive: true, maxSockets: 16 });
  });
  afterAll(async () => {
    agent?.destroy();
    await app?.stop();
  });

  test('3,000 OPTIONS /items/<random> add at most the one `unmatched` series', async () => {
    const before = await scrape(app);
    const statuses = new Set<number>();
    for (let i = 0; i < 3000; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) =>
        send(agent, app.port, { method: 'OPTIONS', path: `/items/${(i + j) * 7919}x${i + j}` }),
      );
      for (const status of await Promise.all(batch)) statuses.add(status);
    }
    const after = await scrape(app);
    const options = { method: 'OPTIONS', endpoint: UNMATCHED };
    expect(
      sampleValue(after, 'http_requests_total', options) -
        sampleValue(before, 'http_requests_total', options),
    ).toBe(3000);
    // One status per framework (Express and Koa answer 200 with Allow, Fastify 404).
    expect(statuses.size).toBe(1);
    // One new series at most: OPTIONS `unmatched` (none if an earlier test made it).
    expect(
      seriesCount(after, 'http_requests_total') - seriesCount(before, 'http_requests_total'),
    ).toBeLessThanOrEqual(1);
    expect(
      seriesCount(after, 'http_request_duration_seconds_count') -
        seriesCount(before, 'http_request_duration_seconds_count'),
    ).toBeLessThanOrEqual(1);
  });

  test('random methods and paths: endpoints stay within the routes + `unmatched`', async () => {
    const allowed = new Set([...routes, UNMATCHED]);
    await fc.assert(
      fc.asyncProperty(fc.array(probe, { minLength: 1, maxLength: 40 }), async (probes) => {
        for (const p of probes) await send(agent, app.port, p);
        const families = await scrape(app);
        for (const name of ['http_requests_total', 'http_request_duration_seconds']) {
          const seen = endpoints(families, name);
          expect([...seen].filter((e) => !allowed.has(e))).toEqual([]);
          expect(seen.size).toBeLessThanOrEqual(routes.length + 1);
        }
      }),
      { seed: 1414, numRuns: 25 },
    );
    // Real routes still get their template after the flood.
    const families = await scrape(app);
    const count = (endpoint: string): number =>
      sampleValue(families, 'http_requests_total', { method: 'GET', endpoint, status_code: '200' });
    const items = count('/items/:id');
    const users = count('/api/users/:id');
    expect(await send(agent, app.port, { method: 'GET', path: '/items/42' })).toBe(200);
    expect(await send(agent, app.port, { method: 'GET', path: '/api/users/abc' })).toBe(200);
    const after = await scrape(app);
    const countAfter = (endpoint: string): number =>
      sampleValue(after, 'http_requests_total', { method: 'GET', endpoint, status_code: '200' });
    expect(countAfter('/items/:id')).toBe(items + 1);
    expect(countAfter('/api/users/:id')).toBe(users + 1);
  });
});
