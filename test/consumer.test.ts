/**
 * bizmon as a user gets it: every package packed (prepack builds it) and published to a local
 * registry on loopback, then the root README's "Install in your service" steps, run as written
 * in a fresh folder: `npm install` by name, the README's server.js under
 * `--require @bizmon/node/register`, real PostgreSQL and Redis, and its metrics.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { expectMatchesCatalog, sampleValue, type Family } from './support/exposition';
import { get, startApp, type RunningApp } from './support/apps';
import { hasServer, unavailable } from './support/env';
import { startRegistry, upstreamRegistry, type LocalRegistry } from './support/registry';

const root = join(__dirname, '..');
const PACKAGES = ['core', 'http', 'db', 'cache', 'business', 'alerting', 'node'];

/** The README section's install command and server.js, as a user copies them. */
function readmeSteps(): { install: string[]; serverJs: string } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = /^## Install in your service\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const install = /^npm install (.+)$/m.exec(section)?.[1];
  const serverJs = /```js\n(\/\/ server\.js\n[\s\S]*?)```/.exec(section)?.[1];
  if (!install || !serverJs) throw new Error('README: "Install in your service" lost its steps');
  return { install: install.trim().split(/\s+/), serverJs };
}

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

const work = mkdtempSync(join(tmpdir(), 'bizmon-consumer-'));
const appDir = join(work, 'my-service');
const run = `${process.pid}_${Date.now()}`;
const schema = `bizmon_consumer_${run}`;
const prefix = `bizmon-consumer:${run}:`;
// Order ids unique to this run, so the README's `orders:<id>` cache keys are this run's alone.
const orderIds = [Date.now() % 1e9, (Date.now() % 1e9) + 1];

let registry: LocalRegistry | undefined;
let packed: PackResult[] = [];
let ready = false;
let pg: Client | undefined;

beforeAll(async () => {
  const backends =
    (await hasServer('PostgreSQL', '127.0.0.1', 5432)) &&
    (await hasServer('Redis', '127.0.0.1', 6379));
  if (!backends) return;
  const upstream = (await upstreamRegistry()).url;
  try {
    const ping = await fetch(new URL('-/ping', upstream), { signal: AbortSignal.timeout(10_000) });
    if (!ping.ok) throw new Error(`HTTP ${ping.status}`);
  } catch (err) {
    unavailable(`the npm registry ${upstream}`, (err as Error).message);
    return;
  }
  try {
    registry = await startRegistry(join(work, 'registry'));
  } catch (err) {
    unavailable('verdaccio (the local npm registry)', (err as Error).message);
    return;
  }
  // Packing runs each package's prepack (tsc -b), as `npm publish` does.
  packed = JSON.parse(
    await registry.npm(
      [
        'pack',
        ...PACKAGES.map((p) => `--workspace=packages/${p}`),
        `--pack-destination=${work}`,
        '--json',
      ],
      root,
    ),
  ) as PackResult[];
  for (const tarball of packed) await registry.npm(['publish', join(work, tarball.filename)], work);

  pg = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  await pg.connect();
  await pg.query(`CREATE SCHEMA ${schema}`);
  await pg.query(`CREATE TABLE ${schema}.orders (id bigint PRIMARY KEY, total int)`);
  await pg.query(`INSERT INTO ${schema}.orders VALUES ($1, 10), ($2, 20)`, orderIds);

  const { install } = readmeSteps();
  rmSync(appDir, { recursive: true, force: true });
  mkdirSync(appDir);
  await registry.npm(['init', '-y'], appDir);
  await registry.npm(['install', ...install], appDir);
  ready = true;
}, 240_000);

afterAll(async () => {
  if (pg) {
    await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pg.end();
  }
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  try {
    await redis.connect();
    const keys = [...(await redis.keys(`${prefix}*`)), ...orderIds.map((id) => `orders:${id}`)];
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // Redis absent: nothing was written.
  } finally {
    redis.disconnect();
  }
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the packed packages', () => {
  test('hold their build, LICENSE and README, and nothing of the build state or tests', () => {
    if (!ready) return;
    expect(packed.map((p) => p.name).sort()).toEqual(PACKAGES.map((p) => `@bizmon/${p}`).sort());
    for (const pkg of packed) {
      const files = pkg.files.map((f) => f.path);
      expect({ pkg: pkg.name, files }).toEqual({
        pkg: pkg.name,
        files: expect.arrayContaining([
          'package.json',
          'LICENSE',
          'README.md',
          'dist/index.js',
          'dist/index.d.ts',
          'src/index.ts',
        ]),
      });
      expect(files.filter((f) => /tsbuildinfo|(^|\/)test\/|\.test\./.test(f))).toEqual([]);
    }
    const files = (name: string): string[] =>
      packed.find((p) => p.name === name)!.files.map((f) => f.path);
    expect(files('@bizmon/alerting')).toEqual(
      expect.arrayContaining([
        'examples/bridge.yml',
        'bin/bizmon-alert-bridge.js',
        'dist/bridge/cli.js',
      ]),
    );
    expect(files('@bizmon/node')).toEqual(
      expect.arrayContaining(['dist/register.js', 'dist/register.mjs']),
    );
  });
});

describe("the README's service, installed from the registry by name", () => {
  let app: RunningApp | undefined;
  afterAll(() => app?.stop());

  test('has one copy of ioredis 5, pg and @opentelemetry/api, and a valid tree', async () => {
    if (!ready) return;
    // `npm ls` fails on an invalid tree (a peer out of range, a missing dependency).
    const tree = JSON.parse(
      await registry!.npm(['ls', '--all', '--json', 'ioredis', 'pg', '@opentelemetry/api'], appDir),
    ) as unknown;
    const copies = new Map<string, Set<string>>();
    const walk = (node: { dependencies?: Record<string, unknown> }): void => {
      for (const [name, child] of Object.entries(node.dependencies ?? {})) {
        const { version } = child as { version: string };
        if (!copies.has(name)) copies.set(name, new Set());
        copies.get(name)!.add(version);
        walk(child as { dependencies?: Record<string, unknown> });
      }
    };
    walk(tree as { dependencies?: Record<string, unknown> });
    const only = (name: string): string => {
      expect({ name, versions: [...(copies.get(name) ?? [])] }).toEqual({
        name,
        versions: [expect.any(String)],
      });
      return [...copies.get(name)!][0]!;
    };
    expect(only('ioredis')).toMatch(/^5\./);
    expect(only('pg')).toMatch(/^8\./);
    // Our peer range is ^1.9.0; OpenTelemetry's SDK 2.x (our dependency) still caps it below 1.10.
    expect(only('@opentelemetry/api')).toMatch(/^1\.(9|[1-9]\d)\./);
    // One physical copy each: every path npm reports for ioredis/pg is the same folder.
    const paths = (await registry!.npm(['ls', '--all', '--parseable', 'ioredis', 'pg'], appDir))
      .trim()
      .split('\n')
      .filter((p) => /node_modules\/(ioredis|pg)$/.test(p));
    expect(paths.sort()).toEqual([
      join(appDir, 'node_modules', 'ioredis'),
      join(appDir, 'node_modules', 'pg'),
    ]);
  });

  test('serves route templates, table, cache and business metrics from real PostgreSQL and Redis', async () => {
    if (!ready) return;
    writeFileSync(join(appDir, 'server.js'), readmeSteps().serverJs);
    const searchPath = encodeURIComponent(`-c search_path=${schema}`);
    app = await startApp('server.js', {
      cwd: appDir,
      ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/,
      env: {
        PORT: '0',
        OTEL_SERVICE_NAME: 'my-service',
        DATABASE_URL: `postgres://postgres@127.0.0.1:5432/test?options=${searchPath}`,
        REDIS_URL: 'redis://127.0.0.1:6379',
        BIZMON_REDIS_URL: 'redis://127.0.0.1:6379',
        BIZMON_REDIS_PREFIX: prefix,
      },
    });
    const base = `http://127.0.0.1:${app.port}`;
    const [first, second] = orderIds;
    const orders: unknown[] = [];
    for (const [id, user] of [
      [first, 'u-1'],
      [first, 'u-2'],
      [second, 'u-1'],
    ] as const) {
      const res = await get(`${base}/api/orders/${id}`, { 'x-user-id': user });
      expect(res.status).toBe(200);
      orders.push(JSON.parse(res.body));
    }
    expect(orders).toEqual([
      { id: String(first), total: 10 },
      { id: String(first), total: 10 },
      { id: String(second), total: 20 },
    ]);
    expect((await fetch(`${base}/api/images`, { method: 'POST' })).status).toBe(202);

    const scrape = await get(`http://127.0.0.1:${app.exporterPort}/metrics`);
    expect(scrape.status).toBe(200);
    const families: Map<string, Family> = expectMatchesCatalog(scrape.body);
    const value = (name: string, labels: Record<string, string>): number =>
      sampleValue(families, name, labels);
    expect(
      value('http_requests_total', {
        method: 'GET',
        endpoint: '/api/orders/:id',
        status_code: '200',
      }),
    ).toBe(3);
    expect(value('http_requests_total', { method: 'POST', endpoint: '/api/images' })).toBe(1);
    expect(value('db_query_duration_seconds_count', { table: 'orders', operation: 'SELECT' })).toBe(
      2,
    );
    expect(value('cache_operations_total', { operation: 'get', result: 'miss' })).toBe(2);
    expect(value('cache_operations_total', { operation: 'get', result: 'hit' })).toBe(1);
    expect(value('cache_operations_total', { operation: 'set', result: 'success' })).toBe(2);
    expect(value('ai_tasks_submitted_total', { service: 'flux' })).toBe(1);
    // Shared through Redis with the app's own ioredis 5: the two users are in this run's keys.
    expect(value('daily_active_users', {})).toBe(2);
    expect(app.output()).not.toMatch(/warning|error/i);
  });
});
