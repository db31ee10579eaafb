import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { instruments, OVERFLOW_LABEL_VALUE, type MetricSpec } from '@bizmon/core';
import { CounterFamily } from '../../src/model/registry';
import { expectMatchesCatalog, sampleValue } from '../../../../test/support/exposition';
import { useTelemetry } from '../../../../test/support/telemetry';

const bizmon = useTelemetry({ bizmonCardinalityLimit: 50 });

test('unlabelled counters and gauges are exported at 0 from the start', async () => {
  const families = expectMatchesCatalog(await bizmon.text());
  expect(families.get('db_deadlocks_total')!.samples).toEqual([
    { name: 'db_deadlocks_total', labels: {}, value: 0 },
  ]);
  expect(families.get('http_concurrent_connections')!.samples[0]!.value).toBe(0);
  // A hit rate with no traffic has no sample at all.
  expect(families.get('cache_hit_rate')!.samples).toEqual([]);
});

test('hostile label values neither throw nor break the exposition', async () => {
  const hostile: unknown[] = [
    'quote"inside',
    'back\\slash',
    'new\nline',
    'x'.repeat(10_000),
    'lone \ud800 surrogate',
    '',
    42,
    undefined,
    null,
    { toString: () => 'object' },
  ];
  for (const value of hostile) {
    expect(() => instruments.login_failures_total.labels(value as string).add()).not.toThrow();
  }
  const text = await bizmon.text();
  const families = expectMatchesCatalog(text);
  const reasons = families.get('login_failures_total')!.samples.map((s) => s.labels.reason);
  expect(reasons.sort()).toEqual(['back\\slash', 'new\nline', 'quote"inside']);
  // The seven refused values were each counted as a drop.
  expect(
    sampleValue(families, 'bizmon_dropped_measurements_total', {
      metric: 'login_failures_total',
      reason: 'invalid_label_value',
    }),
  ).toBe(7);
  // The warning is rate-limited: one line for the seven drops.
  const warnings = bizmon.logged().filter((l) => l.includes('login_failures_total'));
  expect(warnings).toHaveLength(1);
});

test('NaN, negative and infinite values are dropped and counted, never thrown', async () => {
  const counter = instruments.payment_failures_total.labels('alipay', 'timeout');
  const histogram = instruments.ai_task_duration_seconds.labels('flux', 'default');
  const gauge = instruments.db_connection_pool_usage.labels('default');
  for (const bad of [NaN, -1, Infinity, -Infinity]) {
    expect(() => counter.add(bad)).not.toThrow();
    expect(() => histogram.observe(bad)).not.toThrow();
  }
  expect(() => gauge.set(NaN)).not.toThrow();
  counter.add(2);
  histogram.observe(3);
  const families = expectMatchesCatalog(await bizmon.text());
  expect(sampleValue(families, 'payment_failures_total', { provider: 'alipay' })).toBe(2);
  expect(sampleValue(families, 'ai_task_duration_seconds_count', { service: 'flux' })).toBe(1);
  expect(sampleValue(families, 'ai_task_duration_seconds_sum', { service: 'flux' })).toBe(3);
  expect(
    sampleValue(families, 'bizmon_dropped_measurements_total', {
      metric: 'payment_failures_total',
    }),
  ).toBe(4);
  expect(
    sampleValue(families, 'bizmon_dropped_measurements_total', {
      metric: 'ai_task_duration_seconds',
    }),
  ).toBe(4);
  expect(
    sampleValue(families, 'bizmon_dropped_measurements_total', {
      metric: 'db_connection_pool_usage',
    }),
  ).toBe(1);
});

test('histograms count each observation in its bucket and the exposition is cumulative', async () => {
  const h = instruments.http_request_duration_seconds.labels('GET', '/buckets');
  for (const v of [0.005, 0.01, 0.011, 0.3, 20]) h.observe(v);
  const families = expectMatchesCatalog(await bizmon.text());
  const bucket = (le: string): number =>
    sampleValue(families, 'http_request_duration_seconds_bucket', { endpoint: '/buckets', le });
  expect(bucket('0.01')).toBe(2); // le is inclusive
  expect(bucket('0.05')).toBe(3);
  expect(bucket('0.5')).toBe(4);
  expect(bucket('10')).toBe(4);
  expect(bucket('+Inf')).toBe(5);
});

/**
 * A full garbage collection, also when jest's node was started without --expose-gc: without
 * one, heapUsed below includes whatever garbage the collector has not reached yet.
 */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

test('a flood of 100,000 distinct label values stays at the cardinality limit, bounded in memory', async () => {
  const family = instruments.file_upload_failures_total;
  for (let i = 0; i < 1000; i++) family.labels(`warmup-${i}`).add();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) family.labels(`reason-${i}-${'x'.repeat(50)}`).add();
  gc();
  const after = process.memoryUsage().heapUsed;
  expect(family.size).toBe(50);
  const families = expectMatchesCatalog(await bizmon.text());
  const samples = families.get('file_upload_failures_total')!.samples;
  expect(samples).toHaveLength(50);
  const overflow = samples.find((s) => s.labels.reason === OVERFLOW_LABEL_VALUE)!;
  // 1,000 warm-up and 100,000 flood values; 49 real series, the rest folded.
  expect(overflow.value).toBe(101_000 - 49);
  // Nothing per value is retained: well under 100 bytes per flooded value.
  expect(after - before).toBeLessThan(10_000_000);
});

/** A small deterministic pseudo-random generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('series whose labels share a prefix stay distinct, in any order of arrival', () => {
  // The label tree keeps a series in place of a Map until a second series shares its prefix;
  // splits at every depth are exercised by label sets drawn from small alphabets.
  const next = random(16);
  for (const arity of [1, 2, 3, 4]) {
    const labelNames = ['a', 'b', 'c', 'd'].slice(0, arity);
    const family = new CounterFamily({
      name: `tree_test_${arity}_total`,
      type: 'counter',
      help: 'test',
      unit: '1',
      labelNames,
      area: 'http',
    } as MetricSpec);
    const alphabet = ['x', 'y', 'xy', 'long-value-that-is-not-short'].slice(0, arity === 4 ? 2 : 3);
    const expected = new Map<string, { labels: string[]; count: number }>();
    for (let n = 0; n < 400; n++) {
      const labels = labelNames.map(() => alphabet[Math.floor(next() * alphabet.length)]!);
      // Built at run time, so the tree compares strings that are equal but not identical.
      const passed = labels.map((v) => [...v].join(''));
      family.lookup(...passed).add();
      const key = JSON.stringify(labels);
      const entry = expected.get(key) ?? { labels, count: 0 };
      entry.count++;
      expected.set(key, entry);
      expect(family.lookup(...labels)).toBe(family.lookup(...passed));
    }
    expect(family.size).toBe(expected.size);
    const seen = new Map<string, number>();
    family.forEach((s) => seen.set(JSON.stringify(s.labelValues), s.value));
    expect(seen).toEqual(new Map([...expected].map(([k, v]) => [k, v.count])));
    for (const { labels } of expected.values())
      expect(family.lookup(...labels).labelValues).toEqual(labels);
  }
});

test('a series keeps a copy of a label value, not the larger string it was sliced from', () => {
  const family = instruments.file_upload_failures_total;
  family.reset();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 40; i++) {
    // 1 MB flat strings; slice() returns a view that would keep each one alive.
    const body = Buffer.alloc(1_000_000, `body-${i}-`).toString('latin1');
    family.labels(body.slice(0, 30)).add();
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  expect(family.size).toBe(40);
  expect(family.lookup(Buffer.alloc(30, 'body-7-').toString('latin1')).value).toBe(1);
  expect(after - before).toBeLessThan(4_000_000);
  family.reset();
});
