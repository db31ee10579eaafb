import { performance } from 'node:perf_hooks';
import { warnRateLimited } from '@bizmon/core/internal';
import { startClientTracking } from './clients';
import { recordDuration, recordLookups, recordResult, type CacheOperation } from './record';

/** A Map-like or lru-cache-style cache: get/set/delete, optionally has/size/calculatedSize. */
export interface CacheLike<K = unknown, V = unknown> {
  get(key: K, ...rest: never[]): V | undefined | Promise<V | undefined>;
  set(key: K, value: V, ...rest: never[]): unknown;
  delete(key: K): unknown;
  readonly size?: number;
  /** lru-cache's total of sizeCalculation, in bytes when the sizes are bytes. */
  readonly calculatedSize?: number;
}

/** Options of instrumentCache. */
export interface InstrumentCacheOptions {
  /** Names the cache in bizmon's log lines. */
  name: string;
}

const caches: WeakRef<CacheLike>[] = [];
const INSTRUMENTED = Symbol.for('bizmon.cache.instrumented');

/** Size of the in-process caches: lru-cache's calculatedSize when tracked, else entry count. */
export function inProcessSize(): number | undefined {
  let total: number | undefined;
  for (let i = caches.length - 1; i >= 0; i--) {
    const cache = caches[i]!.deref();
    if (!cache) {
      caches.splice(i, 1);
      continue;
    }
    const size =
      typeof cache.calculatedSize === 'number' && cache.calculatedSize > 0
        ? cache.calculatedSize
        : cache.size;
    if (typeof size === 'number' && Number.isFinite(size)) total = (total ?? 0) + size;
  }
  return total;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    warnRateLimited(
      'cache-record',
      `could not record a cache operation: ${(err as Error).message}`,
    );
  }
}

function isThenable(v: unknown): v is Promise<unknown> {
  return (
    v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function'
  );
}

/** Runs `call`, recording duration and outcome (sync or async) of one operation. */
function timed<R>(
  operation: CacheOperation,
  call: () => R,
  outcome: (value: Awaited<R>) => void,
): R {
  const start = performance.now();
  const fail = (): void =>
    safely(
      () => (
        recordDuration(operation, (performance.now() - start) / 1000),
        recordResult(operation, 'error')
      ),
    );
  const done = (value: Awaited<R>): void =>
    safely(() => {
      recordDuration(operation, (performance.now() - start) / 1000);
      outcome(value);
    });
  let result: R;
  try {
    result = call();
  } catch (err) {
    fail();
    throw err;
  }
  if (isThenable(result)) {
    // The app's promise is returned as is; this branch only observes it.
    result.then(done as (v: unknown) => void, fail);
  } else done(result as Awaited<R>);
  return result;
}

/**
 * Records an in-process cache's operations in the same metrics as Redis:
 * cache_operations_total (get → hit/miss, set/delete → success/error),
 * cache_operation_duration_seconds, cache_hit_rate and, when no Redis is in use,
 * cache_size_bytes. Works with `Map`, lru-cache and anything with get/set/delete (sync or
 * returning promises); a get answering `undefined` is a miss. Patches the instance in place and
 * returns it; instrumenting twice is harmless.
 *
 * @example
 * const sessions = instrumentCache(new LRUCache<string, Session>({ max: 10_000 }), { name: 'sessions' });
 */
export function instrumentCache<C extends CacheLike>(cache: C, options: InstrumentCacheOptions): C {
  const target = cache as C & { [INSTRUMENTED]?: string };
  if (target[INSTRUMENTED] !== undefined) return cache;
  const get = cache.get;
  const set = cache.set;
  const del = cache.delete;
  Object.defineProperty(target, INSTRUMENTED, { value: options?.name ?? 'cache' });
  Object.defineProperty(target, 'get', {
    configurable: true,
    writable: true,
    value: function (this: C, ...args: unknown[]) {
      return timed(
        'get',
        () => (get as (...a: unknown[]) => unknown).apply(this, args),
        (v) => (v === undefined ? recordLookups(0, 1) : recordLookups(1, 0)),
      );
    },
  });
  Object.defineProperty(target, 'set', {
    configurable: true,
    writable: true,
    value: function (this: C, ...args: unknown[]) {
      return timed(
        'set',
        () => (set as (...a: unknown[]) => unknown).apply(this, args),
        () => recordResult('set', 'success'),
      );
    },
  });
  Object.defineProperty(target, 'delete', {
    configurable: true,
    writable: true,
    value: function (this: C, ...args: unknown[]) {
      return timed(
        'delete',
        () => (del as (...a: unknown[]) => unknown).apply(this, args),
        () => recordResult('delete', 'success'),
      );
    },
  });
  caches.push(new WeakRef(cache));
  startClientTracking();
  return cache;
}
