import { instruments } from '@bizmon/core';
import { TrackedObjects } from '@bizmon/core/internal';

/** The parts of a pg-pool Pool that bizmon reads (pg-pool 2 and 3). */
export interface PoolLike {
  readonly options?: { max?: number; application_name?: string };
  readonly totalCount?: number;
  readonly idleCount?: number;
  readonly ended?: boolean;
  readonly ending?: boolean;
  query(config: object): Promise<unknown>;
}

/** Marks a query bizmon sends itself (health check), which is not measured. */
export const INTERNAL_QUERY = Symbol.for('bizmon.db.internal-query');

const HEALTH_QUERY_TIMEOUT_MS = 1500;

let unnamed = 0;

function isLive(pool: PoolLike): boolean {
  return !pool.ended && !pool.ending;
}

/** The app's pools, each with its `pool` label; an ended pool's gauges stop exporting. */
const pools = new TrackedObjects<PoolLike, string>({
  isLive,
  onDrop(label) {
    instruments.db_connection_pool_size.labels(label).clear();
    instruments.db_connection_pool_usage.labels(label).clear();
  },
  collect: collectPools,
  health: { name: 'database', check: checkDatabase },
});

function labelFor(pool: PoolLike): string {
  const name = pool.options?.application_name;
  const labels = pools.live().map((p) => p.data);
  const taken = (label: string): boolean => labels.includes(label);
  if (typeof name === 'string' && name.length > 0 && name.length <= 200) {
    if (!taken(name)) return name;
    for (let i = 2; ; i++) if (!taken(`${name}-${i}`)) return `${name}-${i}`;
  }
  unnamed++;
  return unnamed === 1 ? 'default' : `pool-${unnamed}`;
}

/**
 * Updates db_connection_pool_size/usage from the pools at scrape time: reading
 * totalCount/idleCount costs nothing on the query path, and is right with any number of pools
 * (unlike instrumentation-pg's shared counters). Ended or collected pools stop exporting.
 */
export function collectPools(): void {
  const live = pools.live();
  for (const { object: pool, data: label } of live) {
    const max = pool.options?.max;
    instruments.db_connection_pool_size.labels(label).set(typeof max === 'number' ? max : 10);
    const total = pool.totalCount ?? 0;
    const idle = pool.idleCount ?? 0;
    instruments.db_connection_pool_usage.labels(label).set(Math.max(0, total - idle));
  }
  if (live.length === 0) pools.stop();
}

/** `database` health check: SELECT 1 through the app's first live pool. */
async function checkDatabase(): Promise<{ healthy: boolean; message: string }> {
  const pool = pools.live()[0]?.object;
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
    pools.add(pool, labelFor(pool));
  } catch {
    // Instrumentation never throws into app code.
  }
}

/** Stops exporting pool gauges and removes the health check (plugin shutdown, last pool gone). */
export function stopPoolTracking(): void {
  pools.stop();
}

/** Re-registers the collect callback and health check for pools still alive (after a restart). */
export function resumePoolTracking(): void {
  pools.start();
}
