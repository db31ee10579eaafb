import type { BizmonPlugin } from '@bizmon/core';
import { PgInstrumentation } from './instrumentation';
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
    instrumentations() {
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
