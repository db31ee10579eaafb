/**
 * @packageDocumentation
 * `@bizmon/core/internal`: what bizmon's own packages (@bizmon/http, db, cache, business, node,
 * the demo, the deploy scripts, tests and benchmarks) share and apps do not need. NO SEMVER
 * PROMISE: anything here may change or go in any release, a patch release included. Apps import
 * `@bizmon/core` (src/index.ts).
 */

// base/: logging, time limits, the request context, the signals between packages.
export {
  ANONYMOUS_ROLE,
  armRequestContext,
  currentRequestContext,
  enterRequestContext,
  runWithRequestContext,
  type RequestContext,
} from './base/context';
export { escapeControlChars, info, warn, warnRateLimited } from './base/log';
export { redactUrls } from './base/redact-url';
export { defineSignal, type Signal } from './base/signals';
export { TimeoutError, withTimeout } from './base/timeout';

// model/: refused measurements.
export { clusterAggregation, type ClusterAggregation } from './model/catalog';
export {
  exemplarSpan,
  observeWithExemplar,
  type Exemplar,
  type ExemplarSlots,
} from './model/exemplars';
export { reportDrop, type DropReason } from './model/registry';

// export/: collect callbacks, the MetricProducer, exposition formats.
export {
  EXPOSITION_CONTENT_TYPES,
  negotiateExposition,
  type ExpositionChoice,
} from './export/formats/negotiate';
export { onCollect, BizmonMetricProducer, SCOPE_NAME } from './export/producer';

// monitoring/: the endpoints (for @bizmon/http), health and /stats.
export {
  DEFAULT_HEALTH_TIMEOUT_MS,
  STANDARD_HEALTH_CHECKS,
  runHealthChecks,
  type HealthReport,
  type HealthStatusReport,
} from './monitoring/health';
export {
  monitoringRouteOf,
  serveMonitoring,
  PROMETHEUS_CONTENT_TYPE,
  type MonitoringRoute,
} from './monitoring/endpoints';
export { collectStats, type StatsReport } from './monitoring/stats';
export { hasBearerToken } from './monitoring/auth';

// instrumentation/: what the instrumentation packages share.
export { MAX_ERROR_TYPE_LENGTH, sqlstateOf } from './instrumentation/error-type';
export {
  isOwnRedisClient,
  isOwnServerRequest,
  OWN_REDIS_CONNECTION_NAME,
} from './instrumentation/own-server';
export {
  isWrapped,
  unwrapFunction,
  unwrapMethod,
  wrapFunction,
  wrapMethod,
} from './instrumentation/wrap';
export type { BizmonPlugin } from './instrumentation/plugin';
export { TrackedObjects, type TrackedObjectsOptions } from './instrumentation/tracked-objects';
export {
  API_ABUSE_SEVERITY,
  recordApiAbuse,
  recordSuspiciousAccess,
} from './instrumentation/security-events';

// runtime-metrics/: the runtime metrics as a plugin of @bizmon/node.
export { runtimeMetricsPlugin } from './runtime-metrics/start';
