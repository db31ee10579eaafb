import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestContext } from './context';
import type { HealthCheckEntry } from '../monitoring/health';
import type { BizmonConfig } from './config';
import type { ScrapeStream } from '../export/exposition';
import { warn } from './log';
import type { AnyFamilyData, DropReason } from '../model/registry';
import type { Telemetry } from '../telemetry';
import { isCompatibleVersion, majorOf } from './compatibility';
import { VERSION as BIZMON_VERSION } from '../version';

/** The running export pipeline, as the monitoring endpoints need it. */
export interface ActivePipeline {
  readonly config: BizmonConfig;
  /** Collects and serialises every metric in Prometheus text format 0.0.4. */
  scrape(): Promise<string>;
}

/**
 * Process-wide state, shared by every copy of @bizmon/core that a dependency tree may hold (two
 * versions side by side in node_modules, or a bundled copy): one set of metrics, one exporter,
 * whichever copy records, starts or scrapes. It lives on one global symbol per major version,
 * as @opentelemetry/api keeps its globals (api/src/internal/global-utils.ts), and a copy whose
 * version is not compatible with the one that created it (version.ts) keeps a private state
 * that never records instead.
 *
 * The rule that lets copies of different minor versions share it: within a major version this
 * shape only grows. A new field is optional to its readers, added by the copy that knows it
 * when it finds a state without it, and every copy works without it; a family or series that
 * another copy created is read only through the FamilyData contract (registry.ts), by its spec,
 * never by its class. Anything else needs a new major version.
 */
export interface SharedState {
  /** Version of the copy that created this state. */
  readonly version: string;
  /** Whether instruments record; false before start() and when BIZMON_DISABLED=true. */
  enabled: boolean;
  /** Most series a metric may hold (BIZMON_CARDINALITY_LIMIT), overflow series included. */
  cardinalityLimit: number;
  /**
   * Whether histogram series also keep native buckets, exposed in protobuf
   * (BIZMON_NATIVE_HISTOGRAMS; native-histogram.ts).
   */
  nativeHistograms: boolean;
  /** Every metric family, by metric name, in the order they were created (catalog order). */
  readonly families: Map<string, AnyFamilyData>;
  /** Counts a refused measurement in bizmon_dropped_measurements_total (set by instruments.ts). */
  recordDrop: ((metric: string, reason: DropReason) => void) | undefined;
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
   * runtime-metrics/start.ts runs (started by @bizmon/node unless BIZMON_RUNTIME_METRICS=false).
   */
  runtimeMetrics: boolean;
  /**
   * Whether histograms keep exemplars from the active sampled span (BIZMON_EXEMPLARS); on when
   * absent (a state created by a copy that predates the switch).
   */
  exemplars?: boolean;
  /** Set while started, from the moment recording starts (before the exporter listens). */
  pipeline: ActivePipeline | undefined;
  /** The started pipeline, once startTelemetry() has finished. */
  telemetry: Telemetry | undefined;
  /** The start in progress or done, so that a second start (from any copy) joins it. */
  starting: Promise<Telemetry> | undefined;
  /** Streaming forms of pipelines' scrape functions (exposition.ts). */
  readonly streamingScrapes: WeakMap<() => Promise<string>, ScrapeStream>;
}

/** Prefix of every key a copy of @bizmon/core has kept its state under, this scheme's and older. */
const KEY_PREFIX = 'bizmon.core.';

/** This copy's key: its major version, like @opentelemetry/api's `opentelemetry.js.api.<major>`. */
const KEY = Symbol.for(`${KEY_PREFIX}v${majorOf(BIZMON_VERSION) ?? BIZMON_VERSION}`);

function create(): SharedState {
  return {
    version: BIZMON_VERSION,
    enabled: false,
    cardinalityLimit: 2000,
    nativeHistograms: false,
    families: new Map(),
    recordDrop: undefined,
    requestContext: new AsyncLocalStorage<RequestContext>(),
    requestContextInUse: false,
    healthChecks: new Map(),
    ownServers: new WeakSet(),
    collectCallbacks: new Set(),
    runtimeMetrics: false,
    pipeline: undefined,
    telemetry: undefined,
    starting: undefined,
    streamingScrapes: new WeakMap(),
  };
}

/** Adds the fields this copy knows to a state created by an older copy of the same major. */
function addMissingFields(existing: object): void {
  for (const [name, value] of Object.entries(create())) {
    if (!(name in existing)) (existing as Record<string, unknown>)[name] = value;
  }
}

/** Another copy's version as a warning may show it (it comes from outside this copy). */
function shownVersion(version: unknown): string {
  return typeof version === 'string' && /^[0-9A-Za-z.+-]{1,64}$/.test(version)
    ? version
    : 'an unknown version';
}

/** A state kept under another key: a copy of another major version, or from before versioned keys. */
function otherCopysState(): { version?: unknown } | undefined {
  for (const symbol of Object.getOwnPropertySymbols(globalThis)) {
    if (symbol !== KEY && Symbol.keyFor(symbol)?.startsWith(KEY_PREFIX)) {
      return (globalThis as Record<symbol, { version?: unknown } | undefined>)[symbol] ?? {};
    }
  }
  return undefined;
}

function resolve(): { state: SharedState; refusal: string | undefined } {
  const holder = globalThis as typeof globalThis & { [KEY]?: SharedState };
  const existing = holder[KEY] ?? otherCopysState();
  if (existing === undefined) return { state: (holder[KEY] = create()), refusal: undefined };
  if (existing === holder[KEY] && isCompatibleVersion(BIZMON_VERSION, String(existing.version))) {
    addMissingFields(existing);
    return { state: existing as SharedState, refusal: undefined };
  }
  const refusal =
    `another copy of @bizmon/core (${shownVersion(existing.version)}) already runs in this ` +
    `process and cannot share its metrics with this one (${BIZMON_VERSION}), so this copy ` +
    'records and exports nothing; install a single version (see `npm ls @bizmon/core`)';
  // A private state that is never enabled: every instrument of this copy stays a no-op.
  return { state: create(), refusal };
}

const resolved = resolve();

/**
 * The one shared state of this process, or this copy's private, never-enabled state when
 * another, incompatible copy of @bizmon/core owns the process (see {@link sharingRefused}).
 */
export const state: SharedState = resolved.state;

/**
 * Why this copy does not share the process state (and records nothing), or undefined when it
 * does. Warned once when the copy loads; start() warns again and starts nothing.
 */
export const sharingRefused: string | undefined = resolved.refusal;

if (sharingRefused !== undefined) warn(sharingRefused);
