import type { BizmonPlugin } from '@bizmon/core/internal';
import type * as Instrumentation from './instrumentation';
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
    modules: ['ioredis'],
    instrumentations() {
      // Required when the app first loads ioredis: it loads OpenTelemetry's instrumentation
      // framework.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { IoredisInstrumentation } = require('./instrumentation') as typeof Instrumentation;
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
