import type { InstrumentationConfig } from '@opentelemetry/instrumentation';

/**
 * Configuration of {@link PgInstrumentation}. @bizmon/node builds it once from core's resolved
 * configuration (`BIZMON_DB_SLOW_QUERY_MS`) and passes it to the instrumentation; `setConfig`
 * changes it for the queries that start afterwards.
 */
export interface PgInstrumentationConfig extends InstrumentationConfig {
  /**
   * A query that takes at least this many milliseconds also counts in `db_slow_queries_total`
   * (`BIZMON_DB_SLOW_QUERY_MS`).
   * @default 1000
   */
  slowQueryThresholdMs?: number;
}

/** {@link PgInstrumentationConfig.slowQueryThresholdMs}'s default. */
export const DEFAULT_SLOW_QUERY_THRESHOLD_MS = 1000;
