import { onUserActive, type BizmonPlugin } from '@bizmon/core';
import { startUserActivity, stopUserActivity, users } from './users';

let unsubscribe: (() => void) | undefined;

/**
 * What @bizmon/business contributes to start() (see @bizmon/node): user activity (per process,
 * or shared through BIZMON_REDIS_URL) published at each scrape, flushed and closed at shutdown.
 */
export const plugin: BizmonPlugin = {
  name: 'business',
  async start(config) {
    // Authenticated requests (seen by @bizmon/http) count as activity.
    unsubscribe ??= onUserActive(users.seen);
    await startUserActivity({
      timezone: config.timezone,
      redisUrl: config.redisUrl,
      redisPrefix: config.redisPrefix,
    });
  },
  async shutdown() {
    unsubscribe?.();
    unsubscribe = undefined;
    await stopUserActivity();
  },
};
