import { BIZMON_VERSION } from '@bizmon/core';
import { BizmonMetricProducer } from '@bizmon/core/internal';

/**
 * bizmon's series as an OpenTelemetry `MetricProducer`, for an app that runs its own
 * OpenTelemetry SDK beside bizmon and wants them in its own exporters too:
 *
 * ```js
 * new PeriodicExportingMetricReader({ exporter, metricProducers: [metricProducer()] })
 * ```
 *
 * Each collection reads bizmon's current values (cumulative, scope `bizmon`): a series is
 * counted once however many readers read it, and bizmon's own `/metrics` is unchanged. Works
 * with the 2.x and 3.x lines of `@opentelemetry/sdk-metrics`.
 */
export function metricProducer(): BizmonMetricProducer {
  return new BizmonMetricProducer(BIZMON_VERSION);
}
