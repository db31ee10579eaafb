import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { instruments, OVERFLOW_LABEL_VALUE } from '@bizmon/core';
import { expectMatchesCatalog, sampleValue } from '../../../test/support/exposition';
import { useTelemetry } from '../../../test/support/telemetry';

const bizmon = useTelemetry({ bizmonCardinalityLimit: 50 });

/**
 * A real garbage collection even though jest runs without --expose-gc: without one, heapUsed
 * counts the flood's garbage or not depending on when V8 last collected.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

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

test('a flood of 100,000 distinct label values stays at the cardinality limit, bounded in memory', async () => {
  const family = instruments.file_upload_failures_total;
  for (let i = 0; i < 1000; i++) family.labels(`warmup-${i}`).add();
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) family.labels(`reason-${i}-${'x'.repeat(50)}`).add();
  collectGarbage();
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
