import { onUserActive, warn, type BizmonPlugin } from '@bizmon/core';
import { startUserActivity, stopUserActivity, users } from './users';

/** BIZMON_REDIS_PREFIX: prefix of the Redis keys of user activity (default `bizmon:`). */
function redisPrefix(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.BIZMON_REDIS_PREFIX;
  if (raw === undefined || raw === '') return undefined;
  if (raw.length <= 100 && !/\s/.test(raw)) return raw;
  warn(
    'BIZMON_REDIS_PREFIX is invalid: expected at most 100 characters without spaces; using the default "bizmon:"',
  );
  return undefined;
}

/**
 * What @bizmon/business contributes to start() (see @bizmon/node): user activity (per process,
 * or shared through BIZMON_REDIS_URL) published at each scrape, flushed and closed at shutdown.
 */
let unsubscribe: (() => void) | undefined;

export const plugin: BizmonPlugin = {
  name: 'business',
  async start(config) {
    // Authenticated requests (seen by @bizmon/http) count as activity.
    unsubscribe ??= onUserActive(users.seen);
    await startUserActivity({
      timezone: config.timezone,
      redisUrl: config.redisUrl,
      redisPrefix: redisPrefix(process.env),
    });
  },
  async shutdown() {
    unsubscribe?.();
    unsubscribe = undefined;
    await stopUserActivity();
  },
};
