/**
 * Configuration of @bizmon/business's user activity ({@link startUserActivity}, and the plugin
 * that @bizmon/node builds once from core's resolved configuration).
 */
export interface UserActivityOptions {
  /**
   * IANA time zone that defines "today" for daily and monthly active users and retention
   * (`BIZMON_TIMEZONE`). An unknown zone is warned about and replaced by UTC.
   * @default 'UTC'
   */
  timezone?: string;
  /**
   * Redis shared by every instance of the app (`BIZMON_REDIS_URL`), so active users are counted
   * across instances; needs `ioredis` in the app. Without it the figures are per process.
   * @default undefined (per process)
   */
  redisUrl?: string;
  /**
   * Prefix of every Redis key bizmon writes (`BIZMON_REDIS_PREFIX`).
   * @default 'bizmon:'
   */
  redisPrefix?: string;
  /**
   * Milliseconds since the epoch; injectable for tests.
   * @default Date.now
   */
  clock?: () => number;
  /**
   * With Redis: how often buffered activity is written, in milliseconds.
   * @default 1000
   */
  flushIntervalMs?: number;
  /**
   * With Redis: most user ids held while Redis is away; more are dropped (and warned about).
   * @default 50000
   */
  maxBuffered?: number;
}
