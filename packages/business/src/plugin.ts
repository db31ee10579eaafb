import { onUserActive, type BizmonPlugin } from '@bizmon/core';
import type { UserActivityOptions } from './types';
import { startUserActivity, stopUserActivity, users } from './users';

/**
 * What @bizmon/business contributes to start() (see @bizmon/node), built from the configuration
 * the preload resolved once: user activity (per process, or shared through `redisUrl`)
 * published at each scrape, flushed and closed at shutdown.
 */
export function plugin(config: UserActivityOptions): BizmonPlugin {
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'business',
    async start() {
      // Authenticated requests (seen by @bizmon/http) count as activity.
      unsubscribe ??= onUserActive(users.seen);
      await startUserActivity(config);
    },
    async shutdown() {
      unsubscribe?.();
      unsubscribe = undefined;
      await stopUserActivity();
    },
  };
}

export type { UserActivityOptions } from './types';
