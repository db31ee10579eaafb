import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import type { BizmonConfig } from './config';
import { armRequestContext } from './context';
import { instruments } from './instruments';
import { info, warn } from './log';
import { monitoringRouteOf, serveMonitoring } from './monitoring';
import { createOtlpReader } from './otlp';
import { registerStreamingScrape, registryChunks } from './exposition';
import { BizmonMetricProducer, runCollectCallbacks } from './producer';
import { sharingRefused, state } from './state';
import { BIZMON_VERSION } from './version';

export { BIZMON_VERSION };

/** What the OpenTelemetry serializer writes when the app has no instruments of its own. */
const NO_REGISTERED_METRICS = '# no registered metrics';

/** A started export pipeline. */
export interface Telemetry {
  readonly config: BizmonConfig;
  readonly meterProvider: MeterProvider;
  /** The exporter's address, when its server is listening. */
  readonly exporterAddress: AddressInfo | undefined;
  /** Collects and serialises every metric as `/metrics` serves it. */
  scrape(): Promise<string>;
  /** Flushes pushes, stops the exporter's server and turns recording off. */
  shutdown(): Promise<void>;
}

/** The running pipeline, if any, whichever copy of @bizmon/core in the process started it. */
export function activeTelemetry(): Telemetry | undefined {
  return state.telemetry;
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo | undefined> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      warn(
        `the metrics exporter could not listen on ${host}:${port} (${err.code ?? err.message}); ` +
          `the app runs on without it — set OTEL_EXPORTER_PROMETHEUS_PORT to a free port`,
      );
      resolve(undefined);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      // Errors after listening (rare) must never crash the host app.
      server.on('error', (err) => warn(`the metrics exporter's server failed: ${err.message}`));
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Starts recording and exporting: a MeterProvider (registered as the global one, so the app's
 * own OpenTelemetry instruments are exported too) whose readers collect bizmon's series, the
 * Prometheus endpoint on the exporter's port, and OTLP pushes when configured. Calling it
 * again, from this or any other copy of @bizmon/core in the process, returns the running pipeline.
 * Never throws for a taken port. In a copy that cannot share the process's state (state.ts) it
 * warns and starts nothing.
 */
export function startTelemetry(config: BizmonConfig): Promise<Telemetry> {
  if (sharingRefused !== undefined) {
    warn(`start ignored: ${sharingRefused}`);
    return Promise.resolve(inertTelemetry(config));
  }
  if (state.starting) return state.starting;
  const starting = start(config);
  state.starting = starting;
  // A start that failed leaves the way open for another.
  starting.catch(() => {
    if (state.starting === starting) state.starting = undefined;
  });
  return starting;
}

/** What startTelemetry() returns in a copy that records nothing: no server, an empty scrape. */
function inertTelemetry(config: BizmonConfig): Telemetry {
  return {
    config,
    meterProvider: new MeterProvider(),
    exporterAddress: undefined,
    scrape: () => Promise.resolve(''),
    shutdown: () => Promise.resolve(),
  };
}

async function start(config: BizmonConfig): Promise<Telemetry> {
  state.cardinalityLimit = config.cardinalityLimit;
  state.enabled = !config.disabled;
  if (config.requestContext === 'always') armRequestContext();

  const producer = new BizmonMetricProducer(BIZMON_VERSION);
  const readers: MetricReader[] = [];
  const wantsPrometheus = config.metricsExporters.includes('prometheus') && !config.disabled;
  // bizmon's own series are serialised straight from the registry (exposition.ts); this reader
  // collects only the app's own OpenTelemetry instruments, so no family appears twice.
  const prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  readers.push(prometheus);
  if (config.metricsExporters.includes('otlp') && !config.disabled) {
    readers.push(createOtlpReader(config.otlpEndpoint, producer));
  }
  const meterProvider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': config.serviceName,
      'service.version': config.serviceVersion,
    }),
    readers,
    // The SDK bounds each collection of the app's own instruments; bizmon's are bounded in memory.
    views: [{ instrumentName: '*', aggregationCardinalityLimit: config.cardinalityLimit }],
  });
  if (!config.disabled && !metrics.setGlobalMeterProvider(meterProvider)) {
    warn('another global MeterProvider is registered; bizmon exports its own metrics only');
  }

  const serializer = new PrometheusSerializer('', false, undefined, false, true);
  async function* scrapeStream(): AsyncGenerator<string, void, undefined> {
    await runCollectCallbacks();
    // target_info and the app's own instruments, then bizmon's families.
    const sdk = serializer.serialize((await prometheus.collect()).resourceMetrics);
    yield sdk.endsWith(NO_REGISTERED_METRICS) ? sdk.slice(0, -NO_REGISTERED_METRICS.length) : sdk;
    yield* registryChunks();
  }
  const scrape = async (): Promise<string> => {
    const parts: string[] = [];
    for await (const chunk of scrapeStream()) parts.push(chunk);
    return parts.join('');
  };
  registerStreamingScrape(scrape, scrapeStream);
  state.pipeline = { config, scrape };

  instruments.system_info
    .labels(config.serviceName, config.serviceVersion, process.version, BIZMON_VERSION)
    .set(1);

  let server: Server | undefined;
  let exporterAddress: AddressInfo | undefined;
  if (wantsPrometheus) {
    server = createServer((req, res) => {
      const route = monitoringRouteOf(req.url ?? '/');
      if (route === undefined || !(req.url ?? '').match(/^\/(metrics|health|stats)(\?|$)/)) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found: try /metrics, /health or /stats\n');
        return;
      }
      void serveMonitoring(route, req, res);
    });
    state.ownServers.add(server);
    exporterAddress = await listen(server, config.exporterHost, config.exporterPort);
    if (exporterAddress) {
      server.unref();
      const shownHost =
        exporterAddress.family === 'IPv6'
          ? `[${exporterAddress.address}]`
          : exporterAddress.address;
      info(`metrics on http://${shownHost}:${exporterAddress.port}/metrics`);
    } else {
      server = undefined;
    }
  }

  const telemetry: Telemetry = {
    config,
    meterProvider,
    exporterAddress,
    scrape,
    async shutdown() {
      if (state.telemetry !== telemetry) return;
      state.telemetry = undefined;
      state.starting = undefined;
      state.pipeline = undefined;
      state.enabled = false;
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      await meterProvider
        .shutdown()
        .catch((err: Error) => warn(`metrics shutdown: ${err.message}`));
      metrics.disable();
    },
  };
  state.telemetry = telemetry;
  return telemetry;
}

/** Stops the running pipeline, if any (whichever copy of @bizmon/core started it). */
export async function shutdownTelemetry(): Promise<void> {
  await state.telemetry?.shutdown();
}
