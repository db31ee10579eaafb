/**
 * @packageDocumentation
 * The public API of @bizmon/core: starting the export, configuration, the metric catalog and
 * its instruments, health checks and the request's user. Apps rarely need it: @bizmon/node
 * starts everything. What bizmon's own packages share beyond this is in
 * `@bizmon/core/internal` (src/internal.ts), which has no semver promise.
 */

// Starting and stopping the export (the preload of @bizmon/node calls these).
export {
  BIZMON_VERSION,
  activeTelemetry,
  shutdownTelemetry,
  startTelemetry,
  type StartTelemetryOptions,
  type Telemetry,
} from './telemetry';

// Configuration: the environment variables, or options named after them.
export {
  resolveConfig,
  type BizmonConfig,
  type BizmonOptions,
  type MetricsExporterKind,
  type RequestContextMode,
} from './base/config';

// The metric catalog: every metric of the contract, its labels and buckets.
export {
  catalog,
  catalogSpecs,
  type MetricSpec,
  type MetricType,
  type MetricArea,
  type MetricName,
} from './model/catalog';

// Recording: one family per catalog metric.
export { instruments, type Instruments, type FamilyFor } from './model/instruments';

// What a family holds, and the limits a recorded value must keep.
export {
  type CounterFamily,
  type CounterSeries,
  type GaugeFamily,
  type GaugeSeries,
  type HistogramFamily,
  type HistogramSeries,
  MAX_LABEL_VALUE_LENGTH,
  OVERFLOW_LABEL_VALUE,
  type LabelValues,
} from './model/registry';

// Health checks reported on `/health`.
export {
  registerHealthCheck,
  type HealthCheck,
  type HealthCheckOptions,
  type HealthCheckResult,
} from './monitoring/health';

// The user of the request being served (`user_role`).
export { currentUserRole, setRequestUser, type RequestUser } from './base/context';

// The formats `/metrics` answers in (Telemetry#scrapeAs).
export type { ExpositionFormat } from './export/formats/negotiate';

// The process and Node.js runtime metrics.
export { startRuntimeMetrics, stopRuntimeMetrics } from './runtime-metrics/start';

// The `error_type` label of a thrown value.
export { errorTypeOf } from './instrumentation/error-type';
