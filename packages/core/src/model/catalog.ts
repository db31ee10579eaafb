/**
 * The metric catalog: every metric bizmon exports, letter for letter as the product contract
 * (CONTRACT.md §4) names it. Instruments are created from these specs and nowhere else; the
 * README's metric table, the tests, the alert rules and the dashboards are checked against it.
 */

/** Prometheus metric type of a catalog entry. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * What records a metric (where it comes from, for docs and dashboards): a package, bizmon's own
 * health, or `runtime` — the process and Node.js families that core samples at collection time
 * (BIZMON_RUNTIME_METRICS).
 */
export type MetricArea = 'http' | 'db' | 'cache' | 'business' | 'bizmon' | 'runtime';

/** One metric: its exposed name, type, help text, unit, label names and buckets. */
export interface MetricSpec<
  N extends string = string,
  L extends readonly string[] = readonly string[],
  T extends MetricType = MetricType,
> {
  /** The exact name on `/metrics` (counters already end in `_total`). */
  readonly name: N;
  readonly type: T;
  /** HELP text. */
  readonly help: string;
  /** UCUM unit for OTLP (`s`, `By`, `1`, `{request}`); never appended to the Prometheus name. */
  readonly unit: string;
  /** Label names in exposition order. */
  readonly labelNames: L;
  /** Explicit upper bounds for histograms (`+Inf` is implied). */
  readonly buckets?: readonly number[];
  readonly area: MetricArea;
  /**
   * Gauges only: export no sample until a value is known (a hit rate with no traffic, Redis
   * memory before the first INFO). Other unlabelled gauges and counters export 0 from the start
   * so that the first change is visible to `rate()` and alerts.
   */
  readonly absentUntilSet?: boolean;
  /**
   * How the exporter of a clustered service (node:cluster, PM2 cluster mode) merges the
   * workers' series of this metric; see {@link clusterAggregation} for the default.
   */
  readonly cluster?: ClusterAggregation;
}

/**
 * How a clustered service's one `/metrics` merges a metric over its workers:
 * - `sum`: one series per label set, the sum over the workers; for counters and histograms
 *   also over workers that have died since the exporter started (as of their last report), for
 *   gauges over the live workers only.
 * - `per_worker`: one series per worker and label set, with an extra `worker` label; a dead
 *   worker's series leave with it.
 */
export type ClusterAggregation = 'sum' | 'per_worker';

/**
 * The rule of {@link ClusterAggregation} for `spec`: its `cluster` field, else `sum` for
 * counters and histograms and `per_worker` for gauges (a gauge of one process, such as heap
 * size or the distinct users it saw, has no meaningful sum).
 */
export function clusterAggregation(spec: MetricSpec): ClusterAggregation {
  return spec.cluster ?? (spec.type === 'gauge' ? 'per_worker' : 'sum');
}

function spec<
  const N extends string,
  const L extends readonly string[],
  const T extends MetricType,
>(s: MetricSpec<N, L, T>): MetricSpec<N, L, T> {
  return Object.freeze(s);
}

const HTTP_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const DB_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1] as const;
const CACHE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;
const AI_TASK_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200] as const;
const CREDITS_BUCKETS = [0, 10, 50, 100, 500, 1000, 5000] as const;
/** prom-client's default GC buckets (lib/metrics/gc.js), so its dashboards' queries work. */
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5] as const;

/** Every metric, keyed by its exposed name. */
export const catalog = {
  // HTTP
  http_requests_total: spec({
    name: 'http_requests_total',
    type: 'counter',
    help: 'HTTP requests served, by method, endpoint template, status code and user role.',
    unit: '{request}',
    labelNames: ['method', 'endpoint', 'status_code', 'user_role'],
    area: 'http',
  }),
  http_request_duration_seconds: spec({
    name: 'http_request_duration_seconds',
    type: 'histogram',
    help: 'HTTP request duration in seconds, by method and endpoint template.',
    unit: 's',
    labelNames: ['method', 'endpoint'],
    buckets: HTTP_BUCKETS,
    area: 'http',
  }),
  http_concurrent_connections: spec({
    name: 'http_concurrent_connections',
    type: 'gauge',
    help: 'HTTP requests in flight in this process.',
    unit: '{request}',
    labelNames: [],
    area: 'http',
    // In flight in the service: the sum over live workers.
    cluster: 'sum',
  }),

  // PostgreSQL
  db_query_duration_seconds: spec({
    name: 'db_query_duration_seconds',
    type: 'histogram',
    help: 'Database query duration in seconds, by first table and operation.',
    unit: 's',
    labelNames: ['table', 'operation'],
    buckets: DB_BUCKETS,
    area: 'db',
  }),
  db_connection_pool_size: spec({
    name: 'db_connection_pool_size',
    type: 'gauge',
    help: 'Maximum connections of the database pool.',
    unit: '{connection}',
    labelNames: ['pool'],
    area: 'db',
    // Connections the service holds: the sum over live workers' pools.
    cluster: 'sum',
  }),
  db_connection_pool_usage: spec({
    name: 'db_connection_pool_usage',
    type: 'gauge',
    help: 'Connections checked out of the database pool.',
    unit: '{connection}',
    labelNames: ['pool'],
    area: 'db',
    // Connections the service holds: the sum over live workers' pools.
    cluster: 'sum',
  }),
  db_slow_queries_total: spec({
    name: 'db_slow_queries_total',
    type: 'counter',
    help: 'Queries at or over the slow-query threshold (BIZMON_DB_SLOW_QUERY_MS).',
    unit: '{query}',
    labelNames: ['table', 'operation'],
    area: 'db',
  }),
  db_deadlocks_total: spec({
    name: 'db_deadlocks_total',
    type: 'counter',
    help: 'Queries that failed with a deadlock (SQLSTATE 40P01).',
    unit: '{query}',
    labelNames: [],
    area: 'db',
  }),

  // Cache
  cache_operations_total: spec({
    name: 'cache_operations_total',
    type: 'counter',
    help: 'Cache operations by operation (get/set/delete/other) and result (hit/miss/success/error).',
    unit: '{operation}',
    labelNames: ['operation', 'result'],
    area: 'cache',
  }),
  cache_hit_rate: spec({
    name: 'cache_hit_rate',
    absentUntilSet: true,
    type: 'gauge',
    help: 'Cache hits / (hits + misses) over the last 5 minutes; absent when idle.',
    unit: '1',
    labelNames: [],
    area: 'cache',
  }),
  cache_operation_duration_seconds: spec({
    name: 'cache_operation_duration_seconds',
    type: 'histogram',
    help: 'Cache operation duration in seconds, by operation.',
    unit: 's',
    labelNames: ['operation'],
    buckets: CACHE_BUCKETS,
    area: 'cache',
  }),
  cache_size_bytes: spec({
    name: 'cache_size_bytes',
    absentUntilSet: true,
    type: 'gauge',
    help: 'Memory used by the cache in bytes (Redis used_memory, or the in-process cache size).',
    unit: 'By',
    labelNames: [],
    area: 'cache',
  }),
  redis_memory_usage_ratio: spec({
    name: 'redis_memory_usage_ratio',
    absentUntilSet: true,
    type: 'gauge',
    help: 'Redis used_memory / maxmemory (total_system_memory when maxmemory is 0).',
    unit: '1',
    labelNames: [],
    area: 'cache',
  }),

  // Business: AI tasks
  ai_tasks_total: spec({
    name: 'ai_tasks_total',
    type: 'counter',
    help: 'AI tasks by service and status (pending when submitted, then success or failed).',
    unit: '{task}',
    labelNames: ['service', 'status', 'user_role'],
    area: 'business',
  }),
  ai_tasks_submitted_total: spec({
    name: 'ai_tasks_submitted_total',
    type: 'counter',
    help: 'AI tasks submitted, by service.',
    unit: '{task}',
    labelNames: ['service'],
    area: 'business',
  }),
  ai_task_duration_seconds: spec({
    name: 'ai_task_duration_seconds',
    type: 'histogram',
    help: 'AI task processing time in seconds, by service and mode.',
    unit: 's',
    labelNames: ['service', 'mode'],
    buckets: AI_TASK_BUCKETS,
    area: 'business',
  }),
  ai_service_failures_total: spec({
    name: 'ai_service_failures_total',
    type: 'counter',
    help: 'AI service call failures, by service and error type.',
    unit: '{failure}',
    labelNames: ['service', 'error_type'],
    area: 'business',
  }),

  // Business: credits
  credits_operations_total: spec({
    name: 'credits_operations_total',
    type: 'counter',
    help: 'Credits operations (consume/refund/purchase), by user role.',
    unit: '{operation}',
    labelNames: ['operation', 'user_role'],
    area: 'business',
  }),
  credits_consumed_total: spec({
    name: 'credits_consumed_total',
    type: 'counter',
    help: 'Credits spent, by user role.',
    unit: '{credit}',
    labelNames: ['user_role'],
    area: 'business',
  }),
  credits_purchased_total: spec({
    name: 'credits_purchased_total',
    type: 'counter',
    help: 'Credits bought (top-ups), by user role.',
    unit: '{credit}',
    labelNames: ['user_role'],
    area: 'business',
  }),
  user_credits_balance: spec({
    name: 'user_credits_balance',
    type: 'histogram',
    help: 'User credit balance observed after a consume operation.',
    unit: '{credit}',
    labelNames: [],
    buckets: CREDITS_BUCKETS,
    area: 'business',
  }),

  // Business: users
  active_users_current: spec({
    name: 'active_users_current',
    type: 'gauge',
    help: 'Distinct users active in the last 5 minutes.',
    unit: '{user}',
    labelNames: [],
    area: 'business',
  }),
  daily_active_users: spec({
    name: 'daily_active_users',
    type: 'gauge',
    help: 'Distinct users active today (BIZMON_TIMEZONE).',
    unit: '{user}',
    labelNames: [],
    area: 'business',
  }),
  monthly_active_users: spec({
    name: 'monthly_active_users',
    type: 'gauge',
    help: 'Distinct users active in the last 30 days.',
    unit: '{user}',
    labelNames: [],
    area: 'business',
  }),
  new_users_registered_total: spec({
    name: 'new_users_registered_total',
    type: 'counter',
    help: 'Users registered.',
    unit: '{user}',
    labelNames: [],
    area: 'business',
  }),
  user_retention_rate: spec({
    name: 'user_retention_rate',
    type: 'gauge',
    help: 'Share of a registration cohort (d1, d7, d30 ago) active today.',
    unit: '1',
    labelNames: ['period'],
    area: 'business',
  }),
  credit_conversion_rate: spec({
    name: 'credit_conversion_rate',
    absentUntilSet: true,
    type: 'gauge',
    help: 'Distinct purchasers today / daily active users.',
    unit: '1',
    labelNames: [],
    area: 'business',
  }),

  // Business: errors and security
  application_errors_total: spec({
    name: 'application_errors_total',
    type: 'counter',
    help: 'Application errors, by error type (class name) and component.',
    unit: '{error}',
    labelNames: ['error_type', 'component'],
    area: 'business',
  }),
  payment_failures_total: spec({
    name: 'payment_failures_total',
    type: 'counter',
    help: 'Payment processing failures, by provider and reason.',
    unit: '{failure}',
    labelNames: ['provider', 'reason'],
    area: 'business',
  }),
  file_upload_failures_total: spec({
    name: 'file_upload_failures_total',
    type: 'counter',
    help: 'File upload failures, by reason.',
    unit: '{failure}',
    labelNames: ['reason'],
    area: 'business',
  }),
  security_events_total: spec({
    name: 'security_events_total',
    type: 'counter',
    help: 'Security events, by event type and severity.',
    unit: '{event}',
    labelNames: ['event_type', 'severity'],
    area: 'business',
  }),
  login_failures_total: spec({
    name: 'login_failures_total',
    type: 'counter',
    help: 'Failed logins, by reason.',
    unit: '{event}',
    labelNames: ['reason'],
    area: 'business',
  }),
  api_abuse_detected_total: spec({
    name: 'api_abuse_detected_total',
    type: 'counter',
    help: 'API abuse detections, by rule.',
    unit: '{event}',
    labelNames: ['rule'],
    area: 'business',
  }),
  suspicious_access_patterns_total: spec({
    name: 'suspicious_access_patterns_total',
    type: 'counter',
    help: 'Suspicious access patterns detected, by pattern.',
    unit: '{event}',
    labelNames: ['pattern'],
    area: 'business',
  }),
  system_info: spec({
    name: 'system_info',
    type: 'gauge',
    help: 'Constant 1, labelled with the service and runtime versions.',
    unit: '1',
    labelNames: ['service_name', 'service_version', 'node_version', 'bizmon_version'],
    area: 'business',
  }),

  // Runtime: the process and Node.js families of prom-client's collectDefaultMetrics(), under
  // its names, types, labels and buckets (so the community Node.js dashboards work), plus
  // event-loop utilization. Sampled at collection time (runtime-metrics/start.ts); gauges have no
  // sample until first measured. Absent when BIZMON_RUNTIME_METRICS=false.
  process_cpu_user_seconds_total: spec({
    name: 'process_cpu_user_seconds_total',
    type: 'counter',
    help: 'Total user CPU time spent in seconds.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  process_cpu_system_seconds_total: spec({
    name: 'process_cpu_system_seconds_total',
    type: 'counter',
    help: 'Total system CPU time spent in seconds.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  process_cpu_seconds_total: spec({
    name: 'process_cpu_seconds_total',
    type: 'counter',
    help: 'Total user and system CPU time spent in seconds.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  process_start_time_seconds: spec({
    name: 'process_start_time_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Start time of the process since unix epoch in seconds.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  process_resident_memory_bytes: spec({
    name: 'process_resident_memory_bytes',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Resident memory size in bytes.',
    unit: 'By',
    labelNames: [],
    area: 'runtime',
  }),
  process_virtual_memory_bytes: spec({
    name: 'process_virtual_memory_bytes',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Virtual memory size in bytes.',
    unit: 'By',
    labelNames: [],
    area: 'runtime',
  }),
  process_heap_bytes: spec({
    name: 'process_heap_bytes',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Process heap size in bytes.',
    unit: 'By',
    labelNames: [],
    area: 'runtime',
  }),
  process_open_fds: spec({
    name: 'process_open_fds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Number of open file descriptors.',
    unit: '{file_descriptor}',
    labelNames: [],
    area: 'runtime',
  }),
  process_max_fds: spec({
    name: 'process_max_fds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Maximum number of open file descriptors.',
    unit: '{file_descriptor}',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_lag_seconds: spec({
    name: 'nodejs_eventloop_lag_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Lag of event loop in seconds.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_lag_min_seconds: spec({
    name: 'nodejs_eventloop_lag_min_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'The minimum recorded event loop delay.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_lag_max_seconds: spec({
    name: 'nodejs_eventloop_lag_max_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'The maximum recorded event loop delay.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_lag_mean_seconds: spec({
    name: 'nodejs_eventloop_lag_mean_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'The mean of the recorded event loop delays.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_lag_stddev_seconds: spec({
    name: 'nodejs_eventloop_lag_stddev_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'The standard deviation of the recorded event loop delays.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_lag_p50_seconds: spec({
    name: 'nodejs_eventloop_lag_p50_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'The 50th percentile of the recorded event loop delays.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_lag_p90_seconds: spec({
    name: 'nodejs_eventloop_lag_p90_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'The 90th percentile of the recorded event loop delays.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_lag_p99_seconds: spec({
    name: 'nodejs_eventloop_lag_p99_seconds',
    type: 'gauge',
    absentUntilSet: true,
    help: 'The 99th percentile of the recorded event loop delays.',
    unit: 's',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_eventloop_utilization: spec({
    name: 'nodejs_eventloop_utilization',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Share of the time since the previous collection the event loop was busy (0 to 1).',
    unit: '1',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_active_handles_total: spec({
    name: 'nodejs_active_handles_total',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Total number of active handles.',
    unit: '{handle}',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_active_requests_total: spec({
    name: 'nodejs_active_requests_total',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Total number of active requests.',
    unit: '{request}',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_heap_size_total_bytes: spec({
    name: 'nodejs_heap_size_total_bytes',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Process heap size from Node.js in bytes.',
    unit: 'By',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_heap_size_used_bytes: spec({
    name: 'nodejs_heap_size_used_bytes',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Process heap size used from Node.js in bytes.',
    unit: 'By',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_external_memory_bytes: spec({
    name: 'nodejs_external_memory_bytes',
    type: 'gauge',
    absentUntilSet: true,
    help: 'Node.js external memory size in bytes.',
    unit: 'By',
    labelNames: [],
    area: 'runtime',
  }),
  nodejs_heap_space_size_total_bytes: spec({
    name: 'nodejs_heap_space_size_total_bytes',
    type: 'gauge',
    help: 'Process heap space size total from Node.js in bytes.',
    unit: 'By',
    labelNames: ['space'],
    area: 'runtime',
  }),
  nodejs_heap_space_size_used_bytes: spec({
    name: 'nodejs_heap_space_size_used_bytes',
    type: 'gauge',
    help: 'Process heap space size used from Node.js in bytes.',
    unit: 'By',
    labelNames: ['space'],
    area: 'runtime',
  }),
  nodejs_heap_space_size_available_bytes: spec({
    name: 'nodejs_heap_space_size_available_bytes',
    type: 'gauge',
    help: 'Process heap space size available from Node.js in bytes.',
    unit: 'By',
    labelNames: ['space'],
    area: 'runtime',
  }),
  nodejs_version_info: spec({
    name: 'nodejs_version_info',
    type: 'gauge',
    help: 'Node.js version info.',
    unit: '1',
    labelNames: ['version', 'major', 'minor', 'patch'],
    area: 'runtime',
  }),
  nodejs_gc_duration_seconds: spec({
    name: 'nodejs_gc_duration_seconds',
    type: 'histogram',
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    unit: 's',
    labelNames: ['kind'],
    buckets: GC_BUCKETS,
    area: 'runtime',
  }),

  // bizmon's own health
  bizmon_dropped_measurements_total: spec({
    name: 'bizmon_dropped_measurements_total',
    type: 'counter',
    help: 'Measurements bizmon refused (bad label value or number), by metric and reason.',
    unit: '{measurement}',
    labelNames: ['metric', 'reason'],
    area: 'bizmon',
  }),
} as const;

/** Name of a catalog metric. */
export type MetricName = keyof typeof catalog;

/** All catalog specs, in catalog order. */
export const catalogSpecs: readonly MetricSpec[] = Object.values(catalog);
