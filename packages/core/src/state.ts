import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestContext } from './context';
import type { HealthCheckEntry } from './health';
import type { BizmonConfig } from './config';
import type { LoginFailureSignal } from './signals';

/** The running export pipeline, as the monitoring endpoints need it. */
export interface ActivePipeline {
  readonly config: BizmonConfig;
  /** Collects and serialises every metric in Prometheus text format 0.0.4. */
  scrape(): Promise<string>;
}

/**
 * Process-wide state shared by every copy of @bizmon/core that a dependency tree may hold
 * (two versions side by side must still write one set of metrics), kept on a global symbol
 * the way @opentelemetry/api keeps its globals.
 */
export interface SharedState {
  /** Whether instruments record; false before start() and when BIZMON_DISABLED=true. */
  enabled: boolean;
  /** Most series a metric may hold (BIZMON_CARDINALITY_LIMIT), overflow series included. */
  cardinalityLimit: number;
  readonly families: Map<string, unknown>;
  readonly requestContext: AsyncLocalStorage<RequestContext>;
  /** Whether requests enter `requestContext` (context.ts explains when). */
  requestContextInUse: boolean;
  readonly healthChecks: Map<string, HealthCheckEntry>;
  /** Sockets' servers that bizmon itself runs (the exporter), whose requests are not counted. */
  readonly ownServers: WeakSet<object>;
  /** Callbacks run before each collection (observable gauges such as Redis memory). */
  readonly collectCallbacks: Set<() => void | Promise<void>>;
  /**
   * Whether the runtime families (catalog area `runtime`) are sampled and exported: true while
   * runtime-metrics.ts runs (started by @bizmon/node unless BIZMON_RUNTIME_METRICS=false).
   */
  runtimeMetrics: boolean;
  /** Set while started. */
  pipeline: ActivePipeline | undefined;
  /** Listeners of signals.ts. */
  readonly signals: {
    readonly userActive: Set<(userId: string) => void>;
    readonly loginFailure: Set<(failure: LoginFailureSignal) => void>;
  };
}

const KEY = Symbol.for('bizmon.core.state.v1');

function create(): SharedState {
  return {
    enabled: false,
    cardinalityLimit: 2000,
    families: new Map(),
    requestContext: new AsyncLocalStorage<RequestContext>(),
    requestContextInUse: false,
    healthChecks: new Map(),
    ownServers: new WeakSet(),
    collectCallbacks: new Set(),
    runtimeMetrics: false,
    pipeline: undefined,
    signals: { userActive: new Set(), loginFailure: new Set() },
  };
}

const holder = globalThis as typeof globalThis & { [KEY]?: SharedState };

/** The one shared state of this process. */
export const state: SharedState = (holder[KEY] ??= create());
