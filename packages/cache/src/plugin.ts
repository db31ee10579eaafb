import type { BizmonPlugin } from '@bizmon/core';
import { IoredisInstrumentation } from './instrumentation';
import { startClientTracking, stopClientTracking } from './clients';
import { subscribeCommands, unsubscribeCommands } from './commands-tracer';

/**
 * What @bizmon/cache contributes to start() (see @bizmon/node): ioredis command metrics from
 * its `ioredis:command` tracing channel, client tracking for INFO memory and the `redis` health
 * check, and the hit-rate window.
 */
export const plugin: BizmonPlugin = {
  name: 'ioredis',
  instrumentations() {
    return [new IoredisInstrumentation()];
  },
  start() {
    if (process.env.BIZMON_INTERNAL_IOREDIS_LEGACY !== 'true') subscribeCommands();
    startClientTracking();
  },
  shutdown() {
    unsubscribeCommands();
    stopClientTracking();
  },
};
