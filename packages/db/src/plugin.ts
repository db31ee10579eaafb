import type { BizmonPlugin } from '@bizmon/core';
import type * as Instrumentation from './instrumentation';
import { resumePoolTracking, stopPoolTracking } from './pools';

/**
 * What @bizmon/db contributes to start() (see @bizmon/node): the `pg`/`pg-pool`
 * instrumentation, pool gauges read at scrape time and the `database` health check.
 */
let loaded: typeof Instrumentation | undefined;

export const plugin: BizmonPlugin = {
  name: 'pg',
  modules: ['pg', 'pg-pool'],
  instrumentations(config) {
    // Required when the app first loads pg: it loads OpenTelemetry's instrumentation framework.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('./instrumentation') as typeof Instrumentation;
    loaded.setSlowQueryThreshold(config.slowQueryThresholdMs);
    return [new loaded.PgInstrumentation()];
  },
  start(config) {
    loaded?.setSlowQueryThreshold(config.slowQueryThresholdMs);
    resumePoolTracking();
  },
  shutdown() {
    stopPoolTracking();
  },
};
