import type { BizmonPlugin } from '@bizmon/core/internal';
import type * as Instrumentation from './instrumentation';
import { resumePoolTracking, stopPoolTracking } from './pools';
import type { PgInstrumentationConfig } from './types';

/**
 * What @bizmon/db contributes to start() (see @bizmon/node), built from the configuration the
 * preload resolved once: the `pg`/`pg-pool` instrumentation, pool gauges read at scrape time and
 * the `database` health check.
 */
export function plugin(config: PgInstrumentationConfig): BizmonPlugin {
  return {
    name: 'pg',
    modules: ['pg', 'pg-pool'],
    instrumentations() {
      // Required when the app first loads pg: it loads OpenTelemetry's instrumentation framework.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PgInstrumentation } = require('./instrumentation') as typeof Instrumentation;
      return [new PgInstrumentation(config)];
    },
    start() {
      resumePoolTracking();
    },
    shutdown() {
      stopPoolTracking();
    },
  };
}
