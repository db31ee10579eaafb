/**
 * Runtime metrics through the preload: every process and Node.js family of the catalog is on
 * /metrics with the catalog's (and prom-client's) name, type, labels and buckets; the values
 * follow what the process does; BIZMON_RUNTIME_METRICS=false removes them.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { catalogSpecs } from '@bizmon/core';
import {
  expectMatchesCatalog,
  parseExposition,
  sampleValue,
  type Family,
} from './support/exposition';
import { APP_NODE_VERSION, get, startApp, type RunningApp } from './support/apps';

const app = join(__dirname, 'fixtures', 'runtime-app.cjs');
const runtimeSpecs = catalogSpecs.filter((s) => s.area === 'runtime');

/** bizmon's runtime families that prom-client does not have. */
const BIZMON_ONLY = ['nodejs_eventloop_utilization'];
/**
 * prom-client default metrics bizmon leaves out: per-type breakdowns of handles, requests and
 * resources (the issue asks for the totals; the community dashboards read the totals).
 */
const NOT_EXPORTED = [
  'nodejs_active_handles',
  'nodejs_active_requests',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
];

async function scrape(running: RunningApp): Promise<Map<string, Family>> {
  const res = await get(`http://127.0.0.1:${running.exporterPort}/metrics`);
  expect(res.status).toBe(200);
  return expectMatchesCatalog(res.body);
}

async function hit(running: RunningApp, path: string): Promise<void> {
  const res = await get(`http://127.0.0.1:${running.port}${path}`);
  expect(res.status).toBe(200);
}

/** The only sample of an unlabelled family; fails when it has none. */
function only(families: Map<string, Family>, name: string): number {
  const samples = families.get(name)?.samples ?? [];
  expect({ name, samples: samples.length }).toEqual({ name, samples: 1 });
  return samples[0]!.value;
}

/** Family shape as the exposition shows it: type, label names, bucket bounds. */
function shape(family: Family): { type: string; labels: string[]; buckets?: string[] } {
  const labels = [
    ...new Set(family.samples.flatMap((s) => Object.keys(s.labels).filter((l) => l !== 'le'))),
  ].sort();
  if (family.type !== 'histogram') return { type: family.type, labels };
  const first = family.samples.find((s) => s.name.endsWith('_bucket'))!;
  const key = JSON.stringify({ ...first.labels, le: undefined });
  const buckets = family.samples
    .filter(
      (s) => s.name.endsWith('_bucket') && JSON.stringify({ ...s.labels, le: undefined }) === key,
    )
    .map((s) => s.labels.le!);
  return { type: family.type, labels, buckets };
}

describe('runtime metrics with the preload (default on)', () => {
  let running: RunningApp;
  let spawnedAt = 0;
  let readyAt = 0;

  beforeAll(async () => {
    spawnedAt = Date.now() / 1000;
    running = await startApp(app, { nodeArgs: ['--expose-gc'] });
    readyAt = Date.now() / 1000;
  });
  afterAll(() => running?.stop());

  test('every runtime family is there, as the catalog says and as prom-client names it', async () => {
    await hit(running, '/gc'); // so nodejs_gc_duration_seconds has a series to check
    const ours = await scrape(running);
    for (const spec of runtimeSpecs) {
      const family = ours.get(spec.name);
      expect({ name: spec.name, present: family !== undefined }).toEqual({
        name: spec.name,
        present: true,
      });
      expect({ name: spec.name, type: family!.type, help: family!.help }).toEqual({
        name: spec.name,
        type: spec.type,
        help: spec.help,
      });
      expect({ name: spec.name, samples: family!.samples.length > 0 }).toEqual({
        name: spec.name,
        samples: true,
      });
    }

    // prom-client's own output, in this process: same names, types, help, labels and buckets.
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    global.gc?.();
    const theirs = parseExposition(await registry.metrics());
    const declared = new Map(registry.getMetricsAsArray().map((m) => [m.name, m]));
    expect([...declared.keys()].filter((n) => !ours.has(n)).sort()).toEqual(NOT_EXPORTED);
    expect(
      runtimeSpecs
        .map((s) => s.name)
        .filter((n) => !declared.has(n))
        .sort(),
    ).toEqual(BIZMON_ONLY);
    for (const spec of runtimeSpecs.filter((s) => declared.has(s.name))) {
      const metric = declared.get(spec.name) as unknown as {
        help: string;
        type: string;
        labelNames: string[];
        upperBounds?: number[];
      };
      expect({
        name: spec.name,
        type: spec.type,
        help: spec.help,
        labels: [...spec.labelNames],
        buckets: spec.buckets ? [...spec.buckets] : undefined,
      }).toEqual({
        name: spec.name,
        type: metric.type,
        help: metric.help,
        labels: metric.labelNames,
        buckets: metric.upperBounds,
      });
      // And on the wire: the same type, label names and `le` values in the same order.
      const theirFamily = theirs.get(spec.name);
      if (theirFamily && theirFamily.samples.length > 0) {
        expect({ name: spec.name, ...shape(ours.get(spec.name)!) }).toEqual({
          name: spec.name,
          ...shape(theirFamily),
        });
      }
    }
  });

  test('values are sane: memory, start time, descriptors, heap, version, utilization', async () => {
    const f = await scrape(running);
    const rss = only(f, 'process_resident_memory_bytes');
    expect(rss).toBeGreaterThan(1024 * 1024);
    if (process.platform === 'linux') {
      expect(only(f, 'process_virtual_memory_bytes')).toBeGreaterThan(rss);
      expect(only(f, 'process_heap_bytes')).toBeGreaterThan(0);
      const open = only(f, 'process_open_fds');
      expect(open).toBeGreaterThan(3);
      expect(only(f, 'process_max_fds')).toBeGreaterThanOrEqual(open);
    }
    // The child's own start: after the spawn call, before it said READY (1 ms of rounding).
    const start = only(f, 'process_start_time_seconds');
    expect(start).toBeGreaterThanOrEqual(spawnedAt - 0.001);
    expect(start).toBeLessThanOrEqual(readyAt + 0.001);

    const heapUsed = only(f, 'nodejs_heap_size_used_bytes');
    expect(heapUsed).toBeGreaterThan(0);
    expect(heapUsed).toBeLessThanOrEqual(only(f, 'nodejs_heap_size_total_bytes'));
    expect(only(f, 'nodejs_external_memory_bytes')).toBeGreaterThan(0);
    const spaces = f.get('nodejs_heap_space_size_used_bytes')!.samples.map((s) => s.labels.space);
    expect(spaces).toEqual(expect.arrayContaining(['new', 'old', 'code', 'large_object']));
    expect(spaces.every((s) => !s!.endsWith('_space'))).toBe(true);
    expect(
      sampleValue(f, 'nodejs_heap_space_size_used_bytes', { space: 'old' }),
    ).toBeLessThanOrEqual(sampleValue(f, 'nodejs_heap_space_size_total_bytes', { space: 'old' }));

    // The app's listening server and the exporter's at least.
    expect(only(f, 'nodejs_active_handles_total')).toBeGreaterThanOrEqual(2);
    expect(only(f, 'nodejs_active_requests_total')).toBeGreaterThanOrEqual(0);
    // The app's Node (BIZMON_TEST_NODE), not the one running jest.
    const [major, minor, patch] = APP_NODE_VERSION.slice(1).split('.');
    expect(f.get('nodejs_version_info')!.samples).toEqual([
      {
        name: 'nodejs_version_info',
        labels: { version: APP_NODE_VERSION, major, minor, patch },
        value: 1,
      },
    ]);
    const utilization = only(f, 'nodejs_eventloop_utilization');
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);
    expect(only(f, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  test('CPU counters grow by the CPU time the app burns', async () => {
    const before = await scrape(running);
    await hit(running, '/busy?ms=300');
    const after = await scrape(running);
    const grown = (name: string): number => only(after, name) - only(before, name);
    expect(grown('process_cpu_seconds_total')).toBeGreaterThanOrEqual(0.3);
    expect(grown('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(grown('process_cpu_system_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(only(after, 'process_cpu_seconds_total')).toBeCloseTo(
      only(after, 'process_cpu_user_seconds_total') +
        only(after, 'process_cpu_system_seconds_total'),
      5,
    );
  });

  test('a forced garbage collection is counted in nodejs_gc_duration_seconds{kind="major"}', async () => {
    const before = await scrape(running);
    await hit(running, '/gc');
    const after = await scrape(running);
    const count = (f: Map<string, Family>): number =>
      sampleValue(f, 'nodejs_gc_duration_seconds_count', { kind: 'major' });
    expect(count(after)).toBeGreaterThanOrEqual(count(before) + 1);
    expect(sampleValue(after, 'nodejs_gc_duration_seconds_sum', { kind: 'major' })).toBeGreaterThan(
      0,
    );
  });

  test('a 200 ms block shows in the next scrape’s lag max, and not in the one after', async () => {
    await scrape(running); // resets the delay histogram
    await hit(running, '/block?ms=200');
    const next = await scrape(running);
    expect(only(next, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.2);
    expect(only(next, 'nodejs_eventloop_utilization')).toBeGreaterThan(0);
    // Idle long enough for the histogram to tick again, so the next interval has samples.
    await hit(running, '/idle?ms=30');
    const after = await scrape(running);
    const max = only(after, 'nodejs_eventloop_lag_max_seconds');
    expect(max).toBeLessThan(0.2);
    expect(max).toBeGreaterThan(0);
    expect(only(after, 'nodejs_eventloop_lag_min_seconds')).toBeLessThanOrEqual(max);
    expect(only(after, 'nodejs_eventloop_lag_p50_seconds')).toBeLessThanOrEqual(max);
  });

  test('a scrape that arrives during a stall still reports the stall', async () => {
    await scrape(running);
    // A connection opened beforehand, so the request's bytes wait in the socket while the app
    // is blocked (from 20 to 220 ms after /block arrives) and are read in the first poll after
    // the block — before libuv runs the delay histogram's overdue tick (timers phase). The
    // collection must let that tick record the block before it reads and resets.
    const socket = connect(running.exporterPort, '127.0.0.1');
    await once(socket, 'connect');
    const blocked = hit(running, '/block?ms=200');
    await new Promise((r) => setTimeout(r, 60));
    let response = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    // HTTP/1.0: the body comes unchunked and the server closes the connection after it.
    socket.write('GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n');
    await Promise.all([once(socket, 'end'), blocked]);
    socket.destroy();
    expect(response).toMatch(/^HTTP\/1\.[01] 200 /);
    const during = expectMatchesCatalog(response.slice(response.indexOf('\r\n\r\n') + 4));
    expect(only(during, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.2);
  });
});

test('BIZMON_RUNTIME_METRICS=false removes every runtime family, and only those', async () => {
  const running = await startApp(app, { env: { BIZMON_RUNTIME_METRICS: 'false' } });
  try {
    await hit(running, '/');
    const families = await scrape(running);
    const names = [...families.keys()];
    expect(names.filter((n) => /^(process|nodejs)_/.test(n))).toEqual([]);
    for (const spec of runtimeSpecs) expect(names).not.toContain(spec.name);
    for (const spec of catalogSpecs.filter((s) => s.area !== 'runtime'))
      expect(names).toContain(spec.name);
  } finally {
    await running.stop();
  }
});

test('runtime metrics keep no timer that holds the process open: a preloaded script exits', () => {
  const run = spawnSync(process.execPath, ['--require', '@bizmon/node/register', '-e', '0'], {
    env: {
      ...process.env,
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
    },
    timeout: 20000,
    encoding: 'utf8',
  });
  expect({ status: run.status, signal: run.signal }).toEqual({ status: 0, signal: null });
});
