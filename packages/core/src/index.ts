export {
  catalog,
  catalogSpecs,
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
} from './health';
export { instruments, type Instruments, type FamilyFor } from './instruments';
export { escapeControlChars, info, warn, warnRateLimited } from './log';
export {
  monitoringRouteOf,
  serveMonitoring,
  PROMETHEUS_CONTENT_TYPE,
  type MonitoringRoute,
} from './monitoring';
export { onCollect, BizmonMetricProducer, SCOPE_NAME } from './producer';
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
export { isOwnServerRequest } from './own-server';
export { runtimeMetricsPlugin, startRuntimeMetrics, stopRuntimeMetrics } from './runtime-metrics';
export type { BizmonPlugin } from './plugin';
export {
  emitLoginFailure,
  emitUserActive,
  onLoginFailure,
  onUserActive,
  type LoginFailureSignal,
} from './signals';
export { collectStats, SEED_AI_SERVICES, type StatsReport } from './stats';
export { hasBearerToken } from './auth';
export {
  BIZMON_VERSION,
  activeTelemetry,
  shutdownTelemetry,
  startTelemetry,
  type Telemetry,
} from './telemetry';
