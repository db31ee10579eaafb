import type { OTLPMetricExporter as OtlpExporterClass } from '@opentelemetry/exporter-metrics-otlp-http';
import type { MetricProducer, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { sdkMetrics } from './otel-sdk';

/** How often OTLP pushes. */
export const OTLP_EXPORT_INTERVAL_MS = 15_000;

/**
 * A reader that pushes every 15 s over OTLP/HTTP to `<endpoint>/v1/metrics` (or the exporter's
 * own environment defaults). The exporter package is loaded here, only when OTLP is on: loading
 * it costs about a tenth of a second of every start-up otherwise.
 */
export function createOtlpReader(
  endpoint: string | undefined,
  producer: MetricProducer,
): PeriodicExportingMetricReader {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-http') as {
    OTLPMetricExporter: typeof OtlpExporterClass;
  };
  const url = endpoint ? `${endpoint.replace(/\/+$/, '')}/v1/metrics` : undefined;
  return new (sdkMetrics().PeriodicExportingMetricReader)({
    exporter: new OTLPMetricExporter(url ? { url } : {}),
    exportIntervalMillis: OTLP_EXPORT_INTERVAL_MS,
    metricProducers: [producer],
  });
}
