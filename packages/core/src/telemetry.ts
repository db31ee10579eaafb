import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { registerStreamingScrape } from './exposition';
import { formatChunks } from './formats/chunks';
import type { ExpositionFormat } from './formats/negotiate';
import { BizmonMetricProducer, runCollectCallbacks } from './producer';
import { state } from './state';

/** bizmon's own version, for system_info and the instrumentation scope. */
export const BIZMON_VERSION: string = (() => {
  try {
    return (
      JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
})();

/** What the OpenTelemetry serializer writes when the app has no instruments of its own. */
const NO_REGISTERED_METRICS = '# no registered metrics';

/** A started export pipeline. */
export interface Telemetry {
  readonly config: BizmonConfig;
  readonly meterProvider: MeterProvider;
  /** The exporter's address, when its server is listening. */
  readonly exporterAddress: AddressInfo | undefined;
  /** Collects and serialises every metric as `/metrics` serves it (text 0.0.4). */
  scrape(): Promise<string>;
  /**
   * Collects and serialises every metric in `format`, as `/metrics` serves it to a client
   * asking for that format: a string for the text formats, bytes for protobuf.
   */
  scrapeAs(format: ExpositionFormat): Promise<string | Buffer>;
  /** Flushes pushes, stops the exporter's server and turns recording off. */
  shutdown(): Promise<void>;
}

let current: Telemetry | undefined;

/** The running pipeline, if any. */
export function activeTelemetry(): Telemetry | undefined {
  return current;
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
 * again returns the running pipeline. Never throws for a taken port.
 */
export async function startTelemetry(config: BizmonConfig): Promise<Telemetry> {
  if (current) return current;
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
  async function* scrapeStream(
    format: ExpositionFormat = 'text',
  ): AsyncGenerator<string | Uint8Array, void, undefined> {
    await runCollectCallbacks();
    // target_info and the app's own instruments, then bizmon's families.
    let sdk = serializer.serialize((await prometheus.collect()).resourceMetrics);
    if (sdk.endsWith(NO_REGISTERED_METRICS)) sdk = sdk.slice(0, -NO_REGISTERED_METRICS.length);
    yield* formatChunks(format, sdk);
  }
  const scrape = async (): Promise<string> => {
    const parts: string[] = [];
    for await (const chunk of scrapeStream()) parts.push(chunk as string);
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
    async scrapeAs(format) {
      const parts: (string | Uint8Array)[] = [];
      for await (const chunk of scrapeStream(format)) parts.push(chunk);
      return format === 'protobuf'
        ? Buffer.concat(parts as Uint8Array[])
        : (parts as string[]).join('');
    },
    async shutdown() {
      if (current !== telemetry) return;
      current = undefined;
      state.pipeline = undefined;
      state.enabled = false;
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      await meterProvider
        .shutdown()
        .catch((err: Error) => warn(`metrics shutdown: ${err.message}`));
      metrics.disable();
    },
  };
  current = telemetry;
  return telemetry;
}

/** Stops the running pipeline, if any. */
export async function shutdownTelemetry(): Promise<void> {
  await current?.shutdown();
}
