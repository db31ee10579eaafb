import type { Meter, MeterOptions, MeterProvider as ApiMeterProvider } from '@opentelemetry/api';
import type { MeterProvider, MetricProducer, MetricReader } from '@opentelemetry/sdk-metrics';
import type { BizmonConfig } from '../base/config';
import { createOtlpReader } from './otlp';
import { exporterPrometheus, otelResources, sdkMetrics } from './otel-sdk';

/** What the OpenTelemetry serializer writes when the app has no instruments of its own. */
const NO_REGISTERED_METRICS = '# no registered metrics';

/**
 * The OpenTelemetry SDK side of the pipeline: a MeterProvider for the app's own instruments,
 * whose readers give `/metrics` their text (with target_info) and push bizmon's series and the
 * app's over OTLP when configured. bizmon's own series never go through it for Prometheus
 * (exposition.ts serialises them straight from the registry).
 */
export interface SdkPipeline {
  readonly meterProvider: MeterProvider;
  /** target_info and the app's own instruments in the Prometheus text format. */
  appMetricsText(): Promise<string>;
}

/** Builds the SDK pipeline; loads the SDK packages (otel-sdk.ts), so it is called on demand. */
export function createSdkPipeline(config: BizmonConfig, producer: MetricProducer): SdkPipeline {
  const { PrometheusExporter, PrometheusSerializer } = exporterPrometheus();
  const { MeterProvider } = sdkMetrics();
  const prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const readers: MetricReader[] = [prometheus];
  if (config.metricsExporters.includes('otlp') && !config.disabled) {
    readers.push(createOtlpReader(config.otlpEndpoint, producer));
  }
  const meterProvider = new MeterProvider({
    resource: otelResources().resourceFromAttributes({
      'service.name': config.serviceName,
      'service.version': config.serviceVersion,
    }),
    readers,
    // The SDK bounds each collection of the app's own instruments; bizmon's are bounded in memory.
    views: [{ instrumentName: '*', aggregationCardinalityLimit: config.cardinalityLimit }],
  });
  const serializer = new PrometheusSerializer('', false, undefined, false, true);
  return {
    meterProvider,
    async appMetricsText() {
      const text = serializer.serialize((await prometheus.collect()).resourceMetrics);
      return text.endsWith(NO_REGISTERED_METRICS)
        ? text.slice(0, -NO_REGISTERED_METRICS.length)
        : text;
    },
  };
}

/**
 * The global MeterProvider bizmon registers: it hands every `getMeter` to the SDK's provider,
 * built by the first call. An app that never creates a meter of its own never loads the SDK.
 */
export class DeferredMeterProvider implements ApiMeterProvider {
  constructor(private readonly provider: () => ApiMeterProvider) {}

  getMeter(name: string, version?: string, options?: MeterOptions): Meter {
    return this.provider().getMeter(name, version, options);
  }
}
