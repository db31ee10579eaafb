import type { BizmonPlugin } from '@bizmon/core';
import { IoredisInstrumentation } from './instrumentation';
import { startClientTracking, stopClientTracking } from './clients';

/**
 * What @bizmon/cache contributes to start() (see @bizmon/node): ioredis command metrics (from
 * the instrumentation's sendCommand wrapper), client tracking for INFO memory and the `redis`
 * health check, and the hit-rate window.
 */
export const plugin: BizmonPlugin = {
  name: 'ioredis',
  instrumentations() {
    return [new IoredisInstrumentation()];
  },
  start() {
    startClientTracking();
  },
  shutdown() {
    stopClientTracking();
  },
};
