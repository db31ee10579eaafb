import { LRUCache } from 'lru-cache';
import { instrumentCache } from '@bizmon/cache';
import { parseExposition, sampleValue } from '../../../test/support/exposition';
import { useTelemetry } from '../../../test/support/telemetry';

const bizmon = useTelemetry();

test('a Map and an lru-cache get the same metrics as Redis', async () => {
  let families = parseExposition(await bizmon.text());
  expect(families.get('cache_hit_rate')?.samples ?? []).toHaveLength(0); // idle: no sample

  const map = instrumentCache(new Map<string, number>(), { name: 'map' });
  map.set('a', 1);
  expect(map.get('a')).toBe(1);
  expect(map.get('b')).toBeUndefined();
  expect(map.delete('a')).toBe(true);
  expect(instrumentCache(map, { name: 'again' })).toBe(map);

  const lru = instrumentCache(
    new LRUCache<string, string>({ max: 10, maxSize: 1000, sizeCalculation: (v) => v.length }),
    { name: 'lru' },
  );
  lru.set('x', 'hello');
  lru.set('y', 'world!');
  expect(lru.get('x')).toBe('hello');
  expect(lru.get('z')).toBeUndefined();

  families = parseExposition(await bizmon.text());
  const ops = (operation: string, result: string): number =>
    sampleValue(families, 'cache_operations_total', { operation, result });
  expect(ops('get', 'hit')).toBe(2);
  expect(ops('get', 'miss')).toBe(2);
  expect(ops('set', 'success')).toBe(3);
  expect(ops('delete', 'success')).toBe(1);
  expect(
    sampleValue(families, 'cache_operation_duration_seconds_count', { operation: 'get' }),
  ).toBe(4);
  expect(sampleValue(families, 'cache_hit_rate')).toBe(0.5);
  // No Redis here: the size is the in-process caches' (lru-cache's calculated size + Map entries).
  expect(sampleValue(families, 'cache_size_bytes')).toBe(11);
});

test('errors from the wrapped cache are counted and re-thrown', async () => {
  const broken = instrumentCache(
    {
      get: () => undefined,
      set: () => {
        throw new Error('full');
      },
      delete: async () => Promise.reject(new Error('gone')),
    },
    { name: 'broken' },
  );
  expect(() => broken.set('k', 1)).toThrow('full');
  await expect(broken.delete('k')).rejects.toThrow('gone');
  const families = parseExposition(await bizmon.text());
  expect(
    sampleValue(families, 'cache_operations_total', { operation: 'set', result: 'error' }),
  ).toBe(1);
  expect(
    sampleValue(families, 'cache_operations_total', { operation: 'delete', result: 'error' }),
  ).toBe(1);
});
