import { instruments } from '@bizmon/core';

/** `operation` label of the cache metrics. */
export type CacheOperation = 'get' | 'set' | 'delete' | 'other';
/** `result` label of cache_operations_total. */
export type CacheResult = 'hit' | 'miss' | 'success' | 'error';

/** cache_hit_rate covers this long. */
const WINDOW_MS = 5 * 60_000;
const BUCKET_MS = 10_000;
const BUCKETS = WINDOW_MS / BUCKET_MS;

/**
 * Hits and misses of the last five minutes in 10-second buckets, shared by Redis and in-process
 * caches: recording touches one bucket, the rate is summed at scrape time.
 */
const bucketEpoch = new Float64Array(BUCKETS).fill(-1);
const bucketHits = new Float64Array(BUCKETS);
const bucketMisses = new Float64Array(BUCKETS);

function bucketFor(now: number): number {
  const epoch = Math.floor(now / BUCKET_MS);
  const i = epoch % BUCKETS;
  if (bucketEpoch[i] !== epoch) {
    bucketEpoch[i] = epoch;
    bucketHits[i] = 0;
    bucketMisses[i] = 0;
  }
  return i;
}

/** Counts `n` hits or misses of get-like operations. */
export function recordLookups(hits: number, misses: number): void {
  if (hits > 0) instruments.cache_operations_total.labels('get', 'hit').add(hits);
  if (misses > 0) instruments.cache_operations_total.labels('get', 'miss').add(misses);
  const i = bucketFor(Date.now());
  bucketHits[i] += hits;
  bucketMisses[i] += misses;
}

/** Counts one operation's outcome (hits and misses go through recordLookups). */
export function recordResult(operation: CacheOperation, result: 'success' | 'error', n = 1): void {
  instruments.cache_operations_total.labels(operation, result).add(n);
}

/** Observes one operation's duration. */
export function recordDuration(operation: CacheOperation, seconds: number): void {
  instruments.cache_operation_duration_seconds.labels(operation).observe(seconds);
}

/** Sets cache_hit_rate from the window, or leaves it absent when there were no lookups. */
export function collectHitRate(now = Date.now()): void {
  const current = Math.floor(now / BUCKET_MS);
  let hits = 0;
  let misses = 0;
  for (let i = 0; i < BUCKETS; i++) {
    if (current - bucketEpoch[i]! < BUCKETS) {
      hits += bucketHits[i]!;
      misses += bucketMisses[i]!;
    }
  }
  const gauge = instruments.cache_hit_rate.labels();
  if (hits + misses > 0) gauge.set(hits / (hits + misses));
  else gauge.clear();
}

/** @internal For tests: forgets the window. */
export function resetHitWindow(): void {
  bucketEpoch.fill(-1);
}
