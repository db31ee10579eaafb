import type { MeterProvider } from '@opentelemetry/api';
import { info } from '../base/log';
import { otelApi } from './otel-sdk';

type SetGlobalMeterProvider = (provider: MeterProvider) => boolean;

/**
 * Registers `provider` as the global MeterProvider, as a fallback: the app's own OpenTelemetry
 * instruments are exported with bizmon's series until the app registers a MeterProvider of its
 * own (its SDK's `start()`, usually after the preload). That registration then succeeds, as it
 * would without bizmon, instead of failing because bizmon came first: the app's instruments go
 * to the app's readers, bizmon's series stay on bizmon's exporter (and reach the app's readers
 * too if the app adds a BizmonMetricProducer to them). Returns the function that unregisters
 * it, or undefined when another MeterProvider was registered first.
 *
 * The watch is an own property on the API's `metrics` singleton, removed at the first
 * registration it sees and on unregistering; it only sees registrations made through the same
 * copy of `@opentelemetry/api`, which a peer dependency makes the app's.
 */
export function registerFallbackMeterProvider(provider: MeterProvider): (() => void) | undefined {
  const { metrics } = otelApi();
  if (!metrics.setGlobalMeterProvider(provider)) return undefined;
  const api = metrics as { setGlobalMeterProvider: SetGlobalMeterProvider };
  const stopWatching = (): void => {
    if (Object.hasOwn(api, 'setGlobalMeterProvider')) {
      delete (api as { setGlobalMeterProvider?: SetGlobalMeterProvider }).setGlobalMeterProvider;
    }
  };
  Object.defineProperty(api, 'setGlobalMeterProvider', {
    configurable: true,
    writable: true,
    value: function setGlobalMeterProvider(next: MeterProvider): boolean {
      stopWatching();
      if (next !== provider && metrics.getMeterProvider() === provider) {
        metrics.disable();
        info(
          "the app registered its own MeterProvider: its instruments go to it; bizmon's series " +
            'stay on bizmon’s exporter (add a BizmonMetricProducer to its readers to export them there too)',
        );
      }
      return api.setGlobalMeterProvider(next);
    },
  });
  return () => {
    stopWatching();
    if (metrics.getMeterProvider() === provider) metrics.disable();
  };
}
