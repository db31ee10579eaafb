import type { BizmonPlugin } from '@bizmon/core';
import { PgInstrumentation, setSlowQueryThreshold } from './instrumentation';
import { resumePoolTracking, stopPoolTracking } from './pools';

/**
 * What @bizmon/db contributes to start() (see @bizmon/node): the `pg`/`pg-pool`
 * instrumentation, pool gauges read at scrape time and the `database` health check.
 */
export const plugin: BizmonPlugin = {
  name: 'pg',
  instrumentations(config) {
    setSlowQueryThreshold(config.slowQueryThresholdMs);
    return [new PgInstrumentation()];
  },
  start(config) {
    setSlowQueryThreshold(config.slowQueryThresholdMs);
    resumePoolTracking();
  },
  shutdown() {
    stopPoolTracking();
  },
};
