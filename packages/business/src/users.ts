import { instruments } from '@bizmon/core';
import { onCollect, reportDrop, warn } from '@bizmon/core/internal';
import { publish, type ActivityStore } from './activity';
import { recording } from './input';
import { Calendar } from './calendar';
import { LocalActivity } from './local-activity';
import type * as RedisActivityModule from './redis-activity';
import { loadIoredis } from './ioredis';
import type { UserActivityOptions } from './types';

export type { UserActivityOptions } from './types';

/** Longest user id accepted; ids are hashed, never labels, but a megabyte id is a bug. */
export const MAX_USER_ID_LENGTH = 256;

/*
 * Per-process state, kept here on purpose: the app's helpers (`users.seen()`, `credits.…`) reach
 * the running activity store with no handle, and one process has one set of active users.
 */
let store: ActivityStore | undefined;
let unregisterCollect: (() => void) | undefined;

function validId(id: unknown, metric: string): string | undefined {
  if (typeof id === 'string') {
    if (id.length > 0 && id.length <= MAX_USER_ID_LENGTH) return id;
    reportDrop(
      metric,
      'invalid_value',
      `user id of ${id.length} characters (1-${MAX_USER_ID_LENGTH} accepted)`,
    );
    return undefined;
  }
  // Numeric ids are common (database keys); they count as their decimal string, as in Redis.
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  reportDrop(metric, 'invalid_value', `user id of type ${id === null ? 'null' : typeof id}`);
  return undefined;
}

/** @internal A purchaser of today, for credit_conversion_rate (from credits.purchased). */
export function recordPurchaser(userId: unknown): void {
  if (store === undefined) return;
  const id = validId(userId, 'credit_conversion_rate');
  if (id !== undefined) store.purchased(id);
}

/** Redis when configured and the app has ioredis; otherwise this process's own sketches. */
function createStore(
  options: UserActivityOptions,
  calendar: Calendar,
  clock: () => number,
): ActivityStore {
  if (options.redisUrl) {
    const loaded = loadIoredis();
    if (typeof loaded !== 'string') {
      // Required here: only processes that share activity through Redis need it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { RedisActivity } = require('./redis-activity') as typeof RedisActivityModule;
      return new RedisActivity({
        Redis: loaded,
        url: options.redisUrl,
        prefix: options.redisPrefix ?? 'bizmon:',
        calendar,
        clock,
        flushIntervalMs: options.flushIntervalMs,
        maxBuffered: options.maxBuffered,
      });
    }
    warn(
      `user activity: BIZMON_REDIS_URL is set but ${loaded}; counting active users per process instead`,
    );
  }
  return new LocalActivity(calendar, clock);
}

/**
 * Starts recording user activity and publishing active_users_current, daily_active_users,
 * monthly_active_users, user_retention_rate and credit_conversion_rate at each scrape.
 * @bizmon/node's start() (and the preload) call it through this package's plugin; call it
 * yourself only with a custom clock or time zone. Replaces a running one.
 */
export async function startUserActivity(options: UserActivityOptions = {}): Promise<void> {
  // Only awaits when replacing a store, so a first start creates it synchronously and helper
  // calls made while the app is still loading are counted.
  if (store) await stopUserActivity();
  const clock = options.clock ?? Date.now;
  let calendar: Calendar;
  try {
    calendar = new Calendar(options.timezone ?? 'UTC');
  } catch {
    warn(`user activity: unknown time zone ${JSON.stringify(options.timezone)}; using UTC`);
    calendar = new Calendar('UTC');
  }
  const created = createStore(options, calendar, clock);
  store = created;
  unregisterCollect = onCollect(async () => {
    publish(await created.figures());
  });
}

/** Flushes buffered activity and stops; users.seen() is a no-op afterwards. */
export async function stopUserActivity(): Promise<void> {
  const stopping = store;
  store = undefined;
  unregisterCollect?.();
  unregisterCollect = undefined;
  if (stopping) await stopping.close();
}

/**
 * User metrics. `seen` is meant for every authenticated request: it validates the id, hashes
 * it and updates two sketches in memory (or adds it to a batch for Redis). Ids never become
 * labels. Safe no-ops before bizmon starts; never throw.
 */
export const users = {
  /** The user was active now: counts towards active_users_current, DAU, MAU and retention. */
  seen(userId: string | number): void {
    if (store === undefined) return;
    try {
      const id = validId(userId, 'daily_active_users');
      if (id !== undefined) store.seen(id);
    } catch {
      // Validation and sketches do not throw; this guards app code against the unforeseen.
    }
  },

  /** A user registered: `new_users_registered_total`, today's cohort for retention, and activity. */
  registered(userId: string | number): void {
    try {
      if (!recording()) return;
      const id = validId(userId, 'new_users_registered_total');
      if (id === undefined) return;
      instruments.new_users_registered_total.labels().add(1);
      store?.registered(id);
    } catch {
      // As above.
    }
  },

  /** Writes buffered activity to Redis now (also done every second and at shutdown). */
  async flush(): Promise<void> {
    try {
      await store?.flush();
    } catch {
      // Reported by the store; never thrown into app code.
    }
  },
};
