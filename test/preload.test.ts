import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  expectMatchesCatalog,
  promtoolFindings,
  PROM_CLIENT_NAME_LINTS,
  sampleValue,
} from './support/exposition';
import { APP_NODE, APP_NODE_VERSION, get, startApp, freePort } from './support/apps';
import { hasBinary, hasServer } from './support/env';

const fixtures = join(__dirname, 'fixtures');

/** Node's warnings (deprecations, experimental loader hooks) in an app's output. */
const nodeWarnings = (output: string): string[] =>
  output.split('\n').filter((l) => /\(node:\d+\) \w*Warning/.test(l));

describe.each([
  ['CommonJS', '--require', 'plain-app.cjs'],
  ['ESM', '--import', 'plain-app.mjs'],
] as const)('a %s app preloaded with %s @bizmon/node/register', (_kind, preload, script) => {
  test('serves /metrics whose every family matches the catalog and passes promtool', async () => {
    const app = await startApp(join(fixtures, script), {
      preload,
      env: { OTEL_SERVICE_NAME: `preload-${_kind}` },
    });
    try {
      for (const path of ['/', '/api/v1/users/42', '/boom']) {
        await get(`http://127.0.0.1:${app.port}${path}`);
      }
      const scrape = await get(`http://127.0.0.1:${app.exporterPort}/metrics`);
      expect(scrape.status).toBe(200);
      const families = expectMatchesCatalog(scrape.body);
      const info = families.get('system_info')!.samples[0]!.labels;
      expect(info.service_name).toBe(`preload-${_kind}`);
      // The Node the apps run on: BIZMON_TEST_NODE in .ci/run (22 and 24).
      expect(info.node_version).toBe(APP_NODE_VERSION);
      if (hasBinary('promtool')) {
        expect(promtoolFindings(scrape.body)).toEqual(PROM_CLIENT_NAME_LINTS);
      }
      const health = await get(`http://127.0.0.1:${app.exporterPort}/health`);
      expect(health.status).toBe(200);
      expect(nodeWarnings(app.output())).toEqual([]);
    } finally {
      await app.stop();
    }
  });
});

test("an ESM app's own meter, taken right after its import of the API, is exported (--import)", async () => {
  const app = await startApp(join(fixtures, 'own-meter.mjs'), { preload: '--import' });
  try {
    const scrape = await get(`http://127.0.0.1:${app.exporterPort}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.body).toMatch(/^app_jobs_total\{[^}]*queue="render"[^}]*\} 3$/m);
    expect(nodeWarnings(app.output())).toEqual([]);
  } finally {
    await app.stop();
  }
});

describe('a process that ends in its main module (a CLI, a script under NODE_OPTIONS)', () => {
  // The preload starts its exporter at the first turn of the event loop, which such a process
  // never reaches: it neither loads node:http nor takes the port (bench/startup.mjs).
  const script = `process.on('exit', () => console.log(JSON.stringify({
    http: process.moduleLoadList.includes('NativeModule http'),
  })));`;
  const run = async (port: number): Promise<{ http: boolean; stderr: string }> => {
    const { stdout, stderr } = await promisify(execFile)(
      APP_NODE,
      ['--require', '@bizmon/node/register', '-e', script],
      {
        env: {
          ...process.env,
          OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
          OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
        },
      },
    );
    return { ...(JSON.parse(stdout) as { http: boolean }), stderr };
  };

  test('loads no node:http and opens no port', async () => {
    const port = await freePort();
    const { http, stderr } = await run(port);
    expect({ http, stderr }).toEqual({ http: false, stderr: '' });
    // The port is still free: binding it works.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject).listen(port, '127.0.0.1', () => resolve());
    });
    probe.close();
  });

  test('says nothing when the service beside it holds the exporter port', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      expect(await run(port)).toEqual({ http: false, stderr: '' });
    } finally {
      blocker.close();
    }
  });
});

test('a taken exporter port leaves the app serving, with one clear line in the log', async () => {
  const blocker = createServer();
  const port = await freePort();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
  const app = await startApp(join(fixtures, 'plain-app.cjs'), {
    env: { OTEL_EXPORTER_PROMETHEUS_PORT: String(port) },
  });
  try {
    const res = await get(`http://127.0.0.1:${app.port}/hello`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true, path: '/hello' });
    await new Promise((r) => setTimeout(r, 200));
    const lines = app
      .output()
      .split('\n')
      .filter((l) => l.includes('could not listen'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('EADDRINUSE');
  } finally {
    await app.stop();
    blocker.close();
  }
});

test('a bad variable is reported once by name and the app still starts', async () => {
  const app = await startApp(join(fixtures, 'plain-app.cjs'), {
    env: { BIZMON_CARDINALITY_LIMIT: '-5', BIZMON_TIMEZONE: 'Nowhere/Land' },
  });
  try {
    expect((await get(`http://127.0.0.1:${app.port}/`)).status).toBe(200);
    expect(app.output()).toContain('BIZMON_CARDINALITY_LIMIT="-5" is invalid');
    expect(app.output()).toContain('BIZMON_TIMEZONE="Nowhere/Land" is invalid');
    expect((await get(`http://127.0.0.1:${app.exporterPort}/metrics`)).status).toBe(200);
  } finally {
    await app.stop();
  }
});

test('BIZMON_DISABLED=true leaves the app untouched and exports nothing', async () => {
  const app = await startApp(join(fixtures, 'plain-app.cjs'), { env: { BIZMON_DISABLED: 'true' } });
  try {
    expect((await get(`http://127.0.0.1:${app.port}/`)).status).toBe(200);
    await expect(get(`http://127.0.0.1:${app.exporterPort}/metrics`)).rejects.toThrow();
  } finally {
    await app.stop();
  }
});

describe('an ESM app importing pg and ioredis, preloaded with --import', () => {
  let backends = false;
  beforeAll(async () => {
    backends =
      (await hasServer('PostgreSQL', '127.0.0.1', 5432)) &&
      (await hasServer('Redis', '127.0.0.1', 6379));
  });

  test('gets the same PostgreSQL and Redis metrics as a CommonJS app', async () => {
    if (!backends) return;
    const app = await startApp(join(fixtures, 'esm-backends.mjs'), { preload: '--import' });
    try {
      for (let i = 0; i < 3; i++)
        expect((await get(`http://127.0.0.1:${app.port}/`)).body).toBe('ok');
      const families = expectMatchesCatalog(
        (await get(`http://127.0.0.1:${app.exporterPort}/metrics`)).body,
      );
      expect(
        sampleValue(families, 'db_query_duration_seconds_count', {
          table: 'pg_catalog.pg_class',
          operation: 'SELECT',
        }),
      ).toBe(3);
      expect(
        sampleValue(families, 'cache_operations_total', { operation: 'get', result: 'hit' }),
      ).toBe(3);
      expect(
        sampleValue(families, 'cache_operations_total', { operation: 'get', result: 'miss' }),
      ).toBe(3);
      expect(
        sampleValue(families, 'cache_operations_total', { operation: 'set', result: 'success' }),
      ).toBe(3);
      expect(
        sampleValue(families, 'http_requests_total', { method: 'GET', status_code: '200' }),
      ).toBe(3);
      expect(nodeWarnings(app.output())).toEqual([]);
    } finally {
      await app.stop();
    }
  });
});
