export {
  catalog,
  catalogSpecs,
  clusterAggregation,
  type ClusterAggregation,
  type MetricSpec,
  type MetricType,
  type MetricArea,
  type MetricName,
} from './catalog';
export {
  resolveConfig,
  type BizmonConfig,
  type BizmonOptions,
  type MetricsExporterKind,
  type RequestContextMode,
} from './config';
export {
  ANONYMOUS_ROLE,
  armRequestContext,
  currentRequestContext,
  currentUserRole,
  enterRequestContext,
  runWithRequestContext,
  setRequestUser,
  type RequestContext,
  type RequestUser,
} from './context';
export {
  DEFAULT_HEALTH_TIMEOUT_MS,
  STANDARD_HEALTH_CHECKS,
  registerHealthCheck,
  runHealthChecks,
  type HealthCheck,
  type HealthCheckOptions,
  type HealthCheckResult,
  type HealthReport,
  type HealthStatusReport,
} from './health';
export { instruments, type Instruments, type FamilyFor } from './instruments';
export { MAX_ERROR_TYPE_LENGTH, errorTypeOf, sqlstateOf } from './error-type';
export { escapeControlChars, info, warn, warnRateLimited } from './log';
export { redactUrls } from './redact-url';
export {
  monitoringRouteOf,
  serveMonitoring,
  PROMETHEUS_CONTENT_TYPE,
  type MonitoringRoute,
} from './monitoring';
export {
  EXPOSITION_CONTENT_TYPES,
  negotiateExposition,
  type ExpositionChoice,
  type ExpositionFormat,
} from './formats/negotiate';
export { onCollect, BizmonMetricProducer, SCOPE_NAME } from './producer';
export { exemplarSpan, observeWithExemplar, type Exemplar, type ExemplarSlots } from './exemplars';
export {
  CounterFamily,
  CounterSeries,
  GaugeFamily,
  GaugeSeries,
  HistogramFamily,
  HistogramSeries,
  MAX_LABEL_VALUE_LENGTH,
  OVERFLOW_LABEL_VALUE,
  reportDrop,
  type DropReason,
  type LabelValues,
} from './registry';
export { isOwnRedisClient, isOwnServerRequest, OWN_REDIS_CONNECTION_NAME } from './own-server';
export { isWrapped, unwrapFunction, unwrapMethod, wrapFunction, wrapMethod } from './wrap';
export { runtimeMetricsPlugin, startRuntimeMetrics, stopRuntimeMetrics } from './runtime-metrics';
export type { BizmonPlugin } from './plugin';
export { defineSignal, type Signal } from './signals';
export { collectStats, type StatsReport } from './stats';
export { hasBearerToken } from './auth';
export { TimeoutError, withTimeout } from './timeout';
export { TrackedObjects, type TrackedObjectsOptions } from './tracked-objects';
export { API_ABUSE_SEVERITY, recordApiAbuse, recordSuspiciousAccess } from './security-events';
export {
  BIZMON_VERSION,
  activeTelemetry,
  shutdownTelemetry,
  startTelemetry,
  type StartTelemetryOptions,
  type Telemetry,
} from './telemetry';
