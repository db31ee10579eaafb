import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { BizmonConfig } from './base/config';
import { armRequestContext } from './base/context';
import { instruments } from './model/instruments';
import { registerFallbackMeterProvider } from './export/global-meter-provider';
import { info, warn, warnRateLimited } from './base/log';
import type * as ExporterServer from './monitoring/exporter-server';
import { registerStreamingScrape } from './export/exposition';
import type * as Formats from './export/formats/chunks';
import type { ExpositionFormat } from './export/formats/negotiate';
import type * as Producer from './export/producer';
import { sdkMetrics } from './export/otel-sdk';
import type * as SdkPipelines from './export/sdk-pipeline';
import { sharingRefused, state } from './base/state';
import { VERSION } from './version';
import type * as Cluster from './export/cluster';
import { deferred } from './base/deferred';

/* eslint-disable @typescript-eslint/no-require-imports -- deferred loading is the point here */
// The parts of the pipeline a process may never use, each loaded when first used: the exporter's
// server (and node:http) when it starts, the exposition formats at the first scrape, the SDK
// pipeline (and OTLP) when it is built, the cluster's export when the server starts.
const exporterServer = deferred(
  () => require('./monitoring/exporter-server') as typeof ExporterServer,
);
const formats = deferred(() => require('./export/formats/chunks') as typeof Formats);
const producers = deferred(() => require('./export/producer') as typeof Producer);
const sdkPipelines = deferred(() => require('./export/sdk-pipeline') as typeof SdkPipelines);
const clusters = deferred(() => require('./export/cluster') as typeof Cluster);
/* eslint-enable @typescript-eslint/no-require-imports */

/** bizmon's own version (@bizmon/core's), for system_info and the instrumentation scope. */
export const BIZMON_VERSION: string = VERSION;

/** A started export pipeline. */
export interface Telemetry {
  readonly config: BizmonConfig;
  /**
   * The OpenTelemetry SDK's MeterProvider behind the global one (the app's own instruments,
   * OTLP). Built, and the SDK loaded, on first use: reading this builds it.
   */
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

/** The running pipeline, if any, whichever copy of @bizmon/core in the process started it. */
export function activeTelemetry(): Telemetry | undefined {
  return state.telemetry;
}

/**
 * Listens on host:port. `exclusive` (a cluster worker): binds the port itself rather than
 * sharing it through the cluster's primary, and a taken port is not warned about (another
 * process of the service serves /metrics; export/cluster/index.ts).
 */
function listen(
  server: Server,
  host: string,
  port: number,
  exclusive = false,
  takenByCluster: () => boolean = () => false,
): Promise<AddressInfo | undefined> {
  return new Promise((resolve) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const message =
        `the metrics exporter could not listen on ${host}:${port} (${err.code ?? err.message}); ` +
        `the app runs on without it — set OTEL_EXPORTER_PROMETHEUS_PORT to a free port`;
      const inUse = err.code === 'EADDRINUSE';
      // A cluster worker tries again while no process serves; say so once a minute at most.
      if (exclusive) {
        if (!inUse) warnRateLimited('exporter-listen', message);
      } else if (!(inUse && takenByCluster())) warn(message);
      resolve(undefined);
    };
    server.once('error', onError);
    const listening = (): void => {
      server.off('error', onError);
      // Errors after listening (rare) must never crash the host app.
      server.on('error', (err) => warn(`the metrics exporter's server failed: ${err.message}`));
      resolve(server.address() as AddressInfo);
    };
    if (exclusive) server.listen({ port, host, exclusive: true }, listening);
    else server.listen(port, host, listening);
  });
}

/** Logs where /metrics is served. */
function announce(server: Server, address: AddressInfo): void {
  server.unref();
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  info(`metrics on http://${shownHost}:${address.port}/metrics`);
}

/** Options of startTelemetry(). */
export interface StartTelemetryOptions {
  /**
   * Defers the registration of the global MeterProvider: called with the function that
   * registers it, returns the function that cancels it. @bizmon/node's preload registers it
   * when the app first requires `@opentelemetry/api`: only a process that loads the API can use
   * a global MeterProvider, and loading it costs 5–9 MiB of every start (bench/startup.mjs).
   * Without it, the MeterProvider is registered at start.
   */
  readonly deferGlobalMeterProvider?: (register: () => void) => () => void;
  /**
   * Defers the exporter's server: called with the function that starts it (loads node:http,
   * binds the port, joins the cluster's export), returns the function that cancels it. The
   * pipeline then starts without waiting for the port, and `exporterAddress` is set once the
   * server listens. @bizmon/node's preload starts it at the first turn of the event loop: a
   * process that ends before (a CLI, a script under NODE_OPTIONS) neither pays for node:http
   * nor takes the port. Without it, the server starts at once and the start waits for it.
   */
  readonly deferExporter?: (serve: () => void) => () => void;
}

/**
 * Starts recording and exporting: the Prometheus endpoint on the exporter's port, OTLP pushes
 * when configured, and a global MeterProvider, so the app's own OpenTelemetry instruments are
 * exported too until the app registers its own (global-meter-provider.ts). The SDK behind it is
 * built on first use (sdk-pipeline.ts). Calling it again, from this or any other copy of
 * @bizmon/core in the process, returns the running pipeline. Never throws for a taken port. In a
 * copy that cannot share the process's state (state.ts) it warns and starts nothing.
 */
export function startTelemetry(
  config: BizmonConfig,
  options: StartTelemetryOptions = {},
): Promise<Telemetry> {
  if (sharingRefused !== undefined) {
    warn(`start ignored: ${sharingRefused}`);
    return Promise.resolve(inertTelemetry(config));
  }
  if (state.starting) return state.starting;
  const starting = start(config, options);
  state.starting = starting;
  // A start that failed leaves the way open for another.
  starting.catch(() => {
    if (state.starting === starting) state.starting = undefined;
  });
  return starting;
}

/** What startTelemetry() returns in a copy that records nothing: no server, an empty scrape. */
function inertTelemetry(config: BizmonConfig): Telemetry {
  let meterProvider: MeterProvider | undefined;
  return {
    config,
    // The SDK is loaded only if someone asks (otel-sdk.ts).
    get meterProvider() {
      return (meterProvider ??= new (sdkMetrics().MeterProvider)());
    },
    exporterAddress: undefined,
    scrape: () => Promise.resolve(''),
    scrapeAs: (format) => Promise.resolve(format === 'protobuf' ? Buffer.alloc(0) : ''),
    shutdown: () => Promise.resolve(),
  };
}

async function start(config: BizmonConfig, options: StartTelemetryOptions): Promise<Telemetry> {
  state.cardinalityLimit = config.cardinalityLimit;
  state.nativeHistograms = config.nativeHistograms;
  state.enabled = !config.disabled;
  state.exemplars = config.exemplars;
  if (config.requestContext === 'always') armRequestContext();

  let sdk: SdkPipelines.SdkPipeline | undefined;
  const sdkPipeline = (): SdkPipelines.SdkPipeline =>
    (sdk ??= sdkPipelines().createSdkPipeline(
      config,
      new (producers().BizmonMetricProducer)(BIZMON_VERSION),
    ));
  const wantsPrometheus = config.metricsExporters.includes('prometheus') && !config.disabled;
  // OTLP pushes on a timer, so its reader starts now; otherwise the SDK waits for a scrape or
  // for the app's first meter.
  if (config.metricsExporters.includes('otlp') && !config.disabled) sdkPipeline();
  let unregisterGlobal: (() => void) | undefined;
  let cancelGlobal: (() => void) | undefined;
  if (!config.disabled) {
    const registerGlobal = (): void => {
      unregisterGlobal = registerFallbackMeterProvider(
        new (sdkPipelines().DeferredMeterProvider)(() => sdkPipeline().meterProvider),
      );
      if (!unregisterGlobal)
        warn('another global MeterProvider is registered; bizmon exports its own metrics only');
    };
    if (options.deferGlobalMeterProvider)
      cancelGlobal = options.deferGlobalMeterProvider(registerGlobal);
    else registerGlobal();
  }

  async function* scrapeStream(
    format: ExpositionFormat = 'text',
  ): AsyncGenerator<string | Uint8Array, void, undefined> {
    await producers().runCollectCallbacks();
    // In a clustered service's aggregator, every process's families merged (cluster/).
    const families = await cluster?.collect();
    // target_info and the app's own instruments, then bizmon's families.
    yield* formats().formatChunks(format, await sdkPipeline().appMetricsText(), families);
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
  let cluster: Cluster.ClusterMember | undefined;
  let stopped = false;
  let serving: Promise<void> | undefined;
  let cancelServe: (() => void) | undefined;
  const serve = async (): Promise<void> => {
    if (stopped) return;
    const { aggregateWhenForking, ClusterMember, isClusterWorker, isPrimaryWithWorkers } =
      clusters();
    const created = exporterServer().createExporterServer(config);
    server = created;
    state.ownServers.add(created);
    // One /metrics for a clustered service needs a port the processes agree on.
    const clustered = config.cluster && config.exporterPort !== 0;
    if (clustered && isClusterWorker()) cluster = ClusterMember.create(config);
    // A cluster member serves when it holds the port (exclusively), else reports to who does.
    const join = (member: Cluster.ClusterMember): Promise<void> =>
      member.join(
        () => listen(created, config.exporterHost, config.exporterPort, true),
        (address) => {
          exporterAddress = address;
          announce(created, address);
        },
      );
    if (cluster) {
      await join(cluster);
    } else {
      // A primary whose workers bound the port first (it was busy after forking) reports to
      // them instead (export/cluster/index.ts).
      const takenByCluster = (): boolean => clustered && isPrimaryWithWorkers();
      exporterAddress = await listen(
        created,
        config.exporterHost,
        config.exporterPort,
        false,
        takenByCluster,
      );
      if (exporterAddress) {
        announce(created, exporterAddress);
        if (clustered)
          aggregateWhenForking(() => {
            // Not after shutdown: a fork then must not open the socket again.
            if (stopped) return undefined;
            cluster ??= ClusterMember.create(config);
            return cluster;
          });
      } else if (takenByCluster() && (cluster = ClusterMember.create(config))) {
        await join(cluster);
      } else {
        server = undefined;
      }
    }
  };
  if (wantsPrometheus) {
    if (options.deferExporter) {
      // Nobody awaits a deferred start: a failure is logged, never an unhandled rejection.
      cancelServe = options.deferExporter(() => {
        serving ??= serve().catch((err: Error) =>
          warn(`the metrics exporter failed to start: ${err.message}`),
        );
      });
    } else await (serving = serve());
  }

  const telemetry: Telemetry = {
    config,
    get meterProvider() {
      return sdkPipeline().meterProvider;
    },
    get exporterAddress() {
      return exporterAddress;
    },
    scrape,
    async scrapeAs(format) {
      const parts: (string | Uint8Array)[] = [];
      for await (const chunk of scrapeStream(format)) parts.push(chunk);
      return format === 'protobuf'
        ? Buffer.concat(parts as Uint8Array[])
        : (parts as string[]).join('');
    },
    async shutdown() {
      if (state.telemetry !== telemetry) return;
      state.telemetry = undefined;
      state.starting = undefined;
      state.pipeline = undefined;
      state.enabled = false;
      stopped = true;
      cancelServe?.();
      await serving;
      cluster?.stop();
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        // Slow or stuck clients must not hold the shutdown until their time-out.
        server.closeAllConnections();
        await closed;
      }
      await sdk?.meterProvider
        .shutdown()
        .catch((err: Error) => warn(`metrics shutdown: ${err.message}`));
      // Only bizmon's own registration: an app that registered its provider keeps it.
      cancelGlobal?.();
      unregisterGlobal?.();
    },
  };
  state.telemetry = telemetry;
  return telemetry;
}

/** Stops the running pipeline, if any (whichever copy of @bizmon/core started it). */
export async function shutdownTelemetry(): Promise<void> {
  await state.telemetry?.shutdown();
}
