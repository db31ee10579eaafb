/**
 * bizmon as a user gets it: every package packed (prepack builds it) and published to a local
 * registry on loopback, then the root README's "Install in your service" steps, run as written
 * in a fresh folder: `npm install` by name, the README's server.js under
 * `--require @bizmon/node/register`, real PostgreSQL and Redis, and its metrics; and
 * @bizmon/alerting installed alone, with its bin and example config.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { expectMatchesCatalog, sampleValue, type Family } from './support/exposition';
import { get, startApp, type RunningApp } from './support/apps';
import { hasServer, unavailable } from './support/env';
import { startRegistry, upstreamRegistry, type LocalRegistry } from './support/registry';

const runFile = promisify(execFile);
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
const run = `${process.pid}_${Date.now()}`;
const schema = `bizmon_consumer_${run}`;
const base = Date.now() % 1e9;

/** One service built from the README's steps, and what it must show. */
interface Service {
  title: string;
  dir: string;
  /** Installed after the README's packages. */
  extra: string[];
  /** The service's package.json `overrides`. */
  overrides?: Record<string, string>;
  /** The versions of @opentelemetry/api and @opentelemetry/sdk-metrics it must end up with. */
  api: RegExp;
  sdk: RegExp;
  /** Order ids of its own, so the README's `orders:<id>` cache keys are its alone. */
  orderIds: [number, number];
  prefix: string;
}

const services: Service[] = [
  {
    // What npm picks: OpenTelemetry SDK 2 with api 1.9 on Node 20, SDK 3 with api 1.10 on
    // Node ≥ 22.15 (SDK 3 requires it, and npm prefers versions whose engines match).
    title: 'as npm resolves it',
    dir: join(work, 'my-service'),
    extra: [],
    api: /^1\.(9|1\d)\./,
    sdk: /^(2\.1[2-9]|3)\./,
    orderIds: [base, base + 1],
    prefix: `bizmon-consumer:${run}:a:`,
  },
  {
    // What Node ≥ 22.15 gets, forced here whatever the Node: SDK 3 and api 1.10.
    title: 'on OpenTelemetry SDK 3 with @opentelemetry/api 1.10',
    dir: join(work, 'my-service-otel3'),
    extra: ['@opentelemetry/api@^1.10.0'],
    overrides: {
      '@opentelemetry/core': '^3.1.0',
      '@opentelemetry/resources': '^3.1.0',
      '@opentelemetry/sdk-metrics': '^3.1.0',
      '@opentelemetry/exporter-prometheus': '^0.301.0',
      '@opentelemetry/exporter-metrics-otlp-http': '^0.301.0',
      '@opentelemetry/instrumentation': '^0.301.0',
    },
    api: /^1\.10\./,
    sdk: /^3\./,
    orderIds: [base + 2, base + 3],
    prefix: `bizmon-consumer:${run}:b:`,
  },
];

/** Where @bizmon/alerting is installed alone, as its README says. */
const bridgeDir = join(work, 'alert-bridge');

let registry: LocalRegistry | undefined;
let packed: PackResult[] = [];
let ready = false;
let pg: Client | undefined;

/** The README's steps in a new folder: npm init, its npm install line, then `extra`. */
async function install(service: Service): Promise<void> {
  const { install: packages } = readmeSteps();
  mkdirSync(service.dir);
  await registry!.npm(['init', '-y'], service.dir);
  if (service.overrides) {
    const file = join(service.dir, 'package.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...manifest, overrides: service.overrides }, null, 2));
  }
  await registry!.npm(['install', ...packages, ...service.extra], service.dir);
}

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
  for (const { orderIds } of services)
    await pg.query(`INSERT INTO ${schema}.orders VALUES ($1, 10), ($2, 20)`, orderIds);

  for (const service of services) await install(service);
  mkdirSync(bridgeDir);
  await registry.npm(['init', '-y'], bridgeDir);
  await registry.npm(['install', '@bizmon/alerting'], bridgeDir);
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
    for (const { prefix, orderIds } of services) {
      const keys = [...(await redis.keys(`${prefix}*`)), ...orderIds.map((id) => `orders:${id}`)];
      if (keys.length > 0) await redis.del(...keys);
    }
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
          'dist/index.d.ts',
          'src/index.ts',
        ]),
      });
      expect(files.filter((f) => /tsbuildinfo|(^|\/)test\/|\.test\./.test(f))).toEqual([]);
      // Every file its `main` and `exports` name (the bundle's entry points, scripts/bundle.mjs).
      const manifest = JSON.parse(
        readFileSync(
          join(root, 'packages', pkg.name.slice('@bizmon/'.length), 'package.json'),
          'utf8',
        ),
      ) as { main: string; exports: Record<string, string | Record<string, string>> };
      const targets = [
        manifest.main,
        ...Object.values(manifest.exports).flatMap((t) =>
          typeof t === 'string' ? [t] : Object.values(t),
        ),
      ].map((t) => t.replace(/^\.\//, ''));
      expect({ pkg: pkg.name, missing: targets.filter((t) => !files.includes(t)) }).toEqual({
        pkg: pkg.name,
        missing: [],
      });
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
      expect.arrayContaining(['bundle/register.js', 'bundle/modules.js', 'dist/register.mjs']),
    );
  });
});

test("@bizmon/alerting installed alone runs bizmon-alert-bridge and ships the README's example config", async () => {
  if (!ready) return;
  const { stdout } = await runFile(join(bridgeDir, 'node_modules', '.bin', 'bizmon-alert-bridge'), [
    '--help',
  ]);
  expect(stdout).toBe('usage: bizmon-alert-bridge --config <file.yml>\n');
  const example = readFileSync(
    join(bridgeDir, 'node_modules', '@bizmon', 'alerting', 'examples', 'bridge.yml'),
    'utf8',
  );
  expect(example).toContain('bizmon-alert-bridge --config bridge.yml');
});

describe.each(services)(
  "the README's service, installed from the registry by name, $title",
  (service) => {
    let app: RunningApp | undefined;
    afterAll(() => app?.stop());

    test('has one copy of ioredis 5, pg and @opentelemetry/api, the expected SDK, and a valid tree', async () => {
      if (!ready) return;
      // `npm ls` fails on an invalid tree (a peer out of range, a missing dependency).
      const tree = JSON.parse(
        await registry!.npm(
          [
            'ls',
            '--all',
            '--json',
            'ioredis',
            'pg',
            '@opentelemetry/api',
            '@opentelemetry/sdk-metrics',
          ],
          service.dir,
        ),
      ) as Tree;
      const copies = versions(tree);
      const only = (name: string): string => {
        expect({ name, versions: [...(copies.get(name) ?? [])] }).toEqual({
          name,
          versions: [expect.any(String)],
        });
        return [...copies.get(name)!][0]!;
      };
      expect(only('ioredis')).toMatch(/^5\./);
      expect(only('pg')).toMatch(/^8\./);
      expect(only('@opentelemetry/api')).toMatch(service.api);
      // OpenTelemetry's exporters pin their SDK exactly, so a patch release of the SDK can sit
      // beside the exporters' own copy; all of them must be of the expected line.
      const sdks = [...(copies.get('@opentelemetry/sdk-metrics') ?? [])];
      expect(sdks.length).toBeGreaterThan(0);
      for (const version of sdks) expect(version).toMatch(service.sdk);
      // One physical copy each: every path npm reports for ioredis/pg is the same folder.
      const paths = (
        await registry!.npm(['ls', '--all', '--parseable', 'ioredis', 'pg'], service.dir)
      )
        .trim()
        .split('\n')
        .filter((p) => /node_modules\/(ioredis|pg)$/.test(p));
      expect(paths.sort()).toEqual([
        join(service.dir, 'node_modules', 'ioredis'),
        join(service.dir, 'node_modules', 'pg'),
      ]);
    });

    test('serves route templates, table, cache and business metrics from real PostgreSQL and Redis', async () => {
      if (!ready) return;
      writeFileSync(join(service.dir, 'server.js'), readmeSteps().serverJs);
      const searchPath = encodeURIComponent(`-c search_path=${schema}`);
      app = await startApp('server.js', {
        cwd: service.dir,
        ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/,
        env: {
          PORT: '0',
          OTEL_SERVICE_NAME: 'my-service',
          DATABASE_URL: `postgres://postgres@127.0.0.1:5432/test?options=${searchPath}`,
          REDIS_URL: 'redis://127.0.0.1:6379',
          BIZMON_REDIS_URL: 'redis://127.0.0.1:6379',
          BIZMON_REDIS_PREFIX: service.prefix,
        },
      });
      const base = `http://127.0.0.1:${app.port}`;
      const [first, second] = service.orderIds;
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
      expect(
        value('db_query_duration_seconds_count', { table: 'orders', operation: 'SELECT' }),
      ).toBe(2);
      expect(value('cache_operations_total', { operation: 'get', result: 'miss' })).toBe(2);
      expect(value('cache_operations_total', { operation: 'get', result: 'hit' })).toBe(1);
      expect(value('cache_operations_total', { operation: 'set', result: 'success' })).toBe(2);
      expect(value('ai_tasks_submitted_total', { service: 'flux' })).toBe(1);
      // Shared through Redis with the app's own ioredis 5: the two users are in this run's keys.
      expect(value('daily_active_users', {})).toBe(2);
      expect(app.output()).not.toMatch(/warning|error/i);
    });
  },
);

interface Tree {
  version?: string;
  dependencies?: Record<string, Tree>;
}

/** Every version of each package in an `npm ls --json` tree. */
function versions(tree: Tree, found = new Map<string, Set<string>>()): Map<string, Set<string>> {
  for (const [name, child] of Object.entries(tree.dependencies ?? {})) {
    if (!found.has(name)) found.set(name, new Set());
    found.get(name)!.add(child.version!);
    versions(child, found);
  }
  return found;
}
