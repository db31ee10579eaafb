import type { BizmonPlugin } from '@bizmon/core/internal';
import type { UserActivityOptions } from './types';
import { startUserActivity, stopUserActivity, users } from './users';

/**
 * What @bizmon/business contributes to start() (see @bizmon/node), built from the configuration
 * the preload resolved once: user activity (per process, or shared through `redisUrl`)
 * published at each scrape, flushed and closed at shutdown.
 */
export function plugin(config: UserActivityOptions): BizmonPlugin {
  return {
    name: 'business',
    async start() {
      await startUserActivity(config);
    },
    async shutdown() {
      await stopUserActivity();
    },
  };
}

/** The ends of business's signals, for the preload's wiring (packages/node/src/signals.ts). */
export { onLoginFailure } from './security';
export { users };

export type { UserActivityOptions } from './types';
