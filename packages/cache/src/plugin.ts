import type { BizmonPlugin } from '@bizmon/core';
import { IoredisInstrumentation } from './instrumentation';
import { startClientTracking, stopClientTracking } from './clients';
import type { IoredisInstrumentationConfig } from './types';

/**
 * What @bizmon/cache contributes to start() (see @bizmon/node), built from the configuration the
 * preload resolved once: ioredis command metrics (from the instrumentation's sendCommand
 * wrapper), client tracking for INFO memory and the `redis` health check, and the hit-rate
 * window.
 */
export function plugin(config: IoredisInstrumentationConfig = {}): BizmonPlugin {
  return {
    name: 'ioredis',
    instrumentations() {
      return [new IoredisInstrumentation(config)];
    },
    start() {
      startClientTracking();
    },
    shutdown() {
      stopClientTracking();
    },
  };
}
