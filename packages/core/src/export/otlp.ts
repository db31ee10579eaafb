import type { ExportResult } from '@opentelemetry/core';
import type { OTLPMetricExporter as OtlpExporterClass } from '@opentelemetry/exporter-metrics-otlp-http';
import type {
  MetricProducer,
  PeriodicExportingMetricReader,
  PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { info, warnRateLimited } from '../base/log';
import { sdkMetrics } from './otel-sdk';

/** `ExportResultCode.SUCCESS`; a type-only import keeps @opentelemetry/core out of start-up. */
const SUCCESS: ExportResult['code'] = 0;

/** How often OTLP pushes. */
export const OTLP_EXPORT_INTERVAL_MS = 15_000;

/**
 * `<endpoint>/v1/metrics`, with the endpoint's query string (an `?api_key=…` some collectors
 * want) kept after the path rather than swallowing it.
 */
export function otlpMetricsUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/metrics`;
  return url.href;
}

/**
 * The exporter, with failed pushes logged (rate-limited): OpenTelemetry reports them only to
 * its diag logger, which an app rarely sets, so a wrong endpoint or key would go unnoticed.
 * log.ts masks the URL's credentials.
 */
function loggingFailures(exporter: PushMetricExporter, target: string): PushMetricExporter {
  return {
    export(metrics, resultCallback) {
      exporter.export(metrics, (result) => {
        if (result.code !== SUCCESS) {
          warnRateLimited(
            'otlp-push',
            `the OTLP push to ${target} failed: ${result.error?.message ?? 'unknown error'}`,
          );
        }
        resultCallback(result);
      });
    },
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregationTemporality: exporter.selectAggregationTemporality?.bind(exporter),
    selectAggregation: exporter.selectAggregation?.bind(exporter),
  };
}

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
  const url = endpoint ? otlpMetricsUrl(endpoint) : undefined;
  const target = url ?? 'the OTEL_EXPORTER_OTLP_* default endpoint';
  info(`metrics pushed over OTLP to ${target} every ${OTLP_EXPORT_INTERVAL_MS / 1000} s`);
  return new (sdkMetrics().PeriodicExportingMetricReader)({
    exporter: loggingFailures(new OTLPMetricExporter(url ? { url } : {}), target),
    exportIntervalMillis: OTLP_EXPORT_INTERVAL_MS,
    metricProducers: [producer],
  });
}
