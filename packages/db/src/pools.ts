import { instruments, onCollect, registerHealthCheck } from '@bizmon/core';

/** The parts of a pg-pool Pool that bizmon reads (pg-pool 2 and 3). */
export interface PoolLike {
  readonly options?: { max?: number; application_name?: string };
  readonly totalCount?: number;
  readonly idleCount?: number;
  readonly ended?: boolean;
  readonly ending?: boolean;
  query(config: object): Promise<unknown>;
}

interface TrackedPool {
  ref: WeakRef<PoolLike>;
  label: string;
}

/** Marks a query bizmon sends itself (health check), which is not measured. */
export const INTERNAL_QUERY = Symbol.for('bizmon.db.internal-query');

const HEALTH_QUERY_TIMEOUT_MS = 1500;

const tracked: TrackedPool[] = [];
let unnamed = 0;
let unregisterCollect: (() => void) | undefined;
let unregisterHealth: (() => void) | undefined;

function labelFor(pool: PoolLike): string {
  const name = pool.options?.application_name;
  const taken = (label: string): boolean =>
    tracked.some((t) => t.label === label && t.ref.deref() !== undefined);
  if (typeof name === 'string' && name.length > 0 && name.length <= 200) {
    if (!taken(name)) return name;
    for (let i = 2; ; i++) if (!taken(`${name}-${i}`)) return `${name}-${i}`;
  }
  unnamed++;
  return unnamed === 1 ? 'default' : `pool-${unnamed}`;
}

function isLive(pool: PoolLike | undefined): pool is PoolLike {
  return pool !== undefined && !pool.ended && !pool.ending;
}

/**
 * Updates db_connection_pool_size/usage from the pools at scrape time: reading
 * totalCount/idleCount costs nothing on the query path, and is right with any number of pools
 * (unlike instrumentation-pg's shared counters). Ended or collected pools stop exporting.
 */
export function collectPools(): void {
  for (let i = tracked.length - 1; i >= 0; i--) {
    const t = tracked[i]!;
    const pool = t.ref.deref();
    if (!isLive(pool)) {
      instruments.db_connection_pool_size.labels(t.label).clear();
      instruments.db_connection_pool_usage.labels(t.label).clear();
      tracked.splice(i, 1);
      continue;
    }
    const max = pool.options?.max;
    instruments.db_connection_pool_size.labels(t.label).set(typeof max === 'number' ? max : 10);
    const total = pool.totalCount ?? 0;
    const idle = pool.idleCount ?? 0;
    instruments.db_connection_pool_usage.labels(t.label).set(Math.max(0, total - idle));
  }
  if (tracked.length === 0) stopPoolTracking();
}

/** `database` health check: SELECT 1 through the app's first live pool. */
async function checkDatabase(): Promise<{ healthy: boolean; message: string }> {
  const pool = tracked.map((t) => t.ref.deref()).find(isLive);
  if (!pool) return { healthy: true, message: 'not configured' };
  await pool.query({
    text: 'SELECT 1',
    query_timeout: HEALTH_QUERY_TIMEOUT_MS,
    [INTERNAL_QUERY]: true,
  });
  return { healthy: true, message: 'ok' };
}

/** Starts tracking a pool (called from its constructor). */
export function trackPool(pool: PoolLike): void {
  try {
    tracked.push({ ref: new WeakRef(pool), label: labelFor(pool) });
    unregisterCollect ??= onCollect(collectPools);
    unregisterHealth ??= registerHealthCheck('database', checkDatabase);
  } catch {
    // Instrumentation never throws into app code.
  }
}

/** Stops exporting pool gauges and removes the health check (plugin shutdown, last pool gone). */
export function stopPoolTracking(): void {
  unregisterCollect?.();
  unregisterHealth?.();
  unregisterCollect = undefined;
  unregisterHealth = undefined;
}

/** Re-registers the collect callback and health check for pools still alive (after a restart). */
export function resumePoolTracking(): void {
  if (tracked.some((t) => isLive(t.ref.deref()))) {
    unregisterCollect ??= onCollect(collectPools);
    unregisterHealth ??= registerHealthCheck('database', checkDatabase);
  }
}
