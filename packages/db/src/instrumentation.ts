import { performance } from 'node:perf_hooks';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
} from '@opentelemetry/instrumentation';
import { errorTypeOf, instruments } from '@bizmon/core';
import {
  exemplarSpan,
  observeWithExemplar,
  sqlstateOf,
  unwrapMethod,
  warnRateLimited,
  wrapMethod,
} from '@bizmon/core/internal';
import { parseStatement } from './sql-analysis';
import { INTERNAL_QUERY, trackPool, type PoolLike } from './pools';
import { DEFAULT_SLOW_QUERY_THRESHOLD_MS, type PgInstrumentationConfig } from './types';
import { VERSION } from './version';

const SUPPORTED_PG = ['>=8.0.3 <9'];
const SUPPORTED_PG_POOL = ['>=2.0.0 <4'];
/** SQLSTATE of a deadlock (db_deadlocks_total). */
const DEADLOCK_SQLSTATE = '40P01';

type Callback = (this: unknown, err: unknown, res: unknown) => unknown;
type QueryFn = (this: unknown, config: unknown, values?: unknown, callback?: unknown) => unknown;

interface ClientClass {
  prototype: { query: QueryFn };
}

interface Submittable {
  submit: unknown;
  callback?: unknown;
  handleError?: (err: unknown, connection: unknown) => unknown;
  handleReadyForQuery?: (connection: unknown) => unknown;
}

/** The sampled span a query's duration carries as its exemplar, if any (see record). */
type ExemplarSpan = ReturnType<typeof exemplarSpan>;

/**
 * What a query wrapper reads from its instrumentation's configuration, kept by the
 * instrumentation instance (setConfig updates it in place, so wrappers see the change).
 */
interface QuerySettings {
  /** Slow-query threshold in milliseconds (PgInstrumentationConfig.slowQueryThresholdMs). */
  slowQueryMs: number;
}

/**
 * Records one finished query; `span` is the sampled span active when it was issued (its
 * exemplar): pg completes queries in the connection's context, not the caller's.
 */
function record(
  settings: QuerySettings,
  text: string,
  start: number,
  err: unknown,
  span: ExemplarSpan,
): void {
  try {
    const seconds = (performance.now() - start) / 1000;
    const { table, operation } = parseStatement(text);
    observeWithExemplar(
      instruments.db_query_duration_seconds.labels(table, operation),
      seconds,
      span,
    );
    if (seconds * 1000 >= settings.slowQueryMs)
      instruments.db_slow_queries_total.labels(table, operation).add(1);
    if (err !== undefined && err !== null) {
      if (sqlstateOf(err) === DEADLOCK_SQLSTATE) instruments.db_deadlocks_total.labels().add(1);
      instruments.application_errors_total.labels(errorTypeOf(err), 'db').add(1);
    }
  } catch (e) {
    warnRateLimited('db-record', `could not record a query: ${(e as Error).message}`);
  }
}

function extractExports<T>(module: T): T {
  const m = module as T & { default?: T; [Symbol.toStringTag]?: string };
  return m[Symbol.toStringTag] === 'Module' && m.default ? m.default : module;
}

/**
 * A query that completes through a callback (its own, or pg's promise adapter), once: pg calls
 * a query's callback exactly once, on success or error.
 */
function timedCallback(
  settings: QuerySettings,
  cb: Callback,
  text: string,
  start: number,
  span: ExemplarSpan,
): Callback {
  return function (this: unknown, err: unknown) {
    record(settings, text, start, err, span);
    // The arguments as pg passed them: an error comes alone, `(err)`, not `(err, undefined)`.
    // eslint-disable-next-line prefer-rest-params
    return cb.apply(this, arguments as unknown as [unknown, unknown]);
  };
}

/**
 * Properties bizmon adds to an app's submittable are non-enumerable, so the object's keys,
 * JSON and inspection stay what the app and its library made them.
 */
function hide(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/**
 * Submittables (pg-cursor, pg-query-stream, Query objects) end in handleError or
 * handleReadyForQuery, whichever comes first: pg makes a query that failed inactive, so no
 * readyForQuery reaches it after its error.
 */
function timeSubmittable(
  settings: QuerySettings,
  q: Submittable,
  text: string,
  start: number,
  span: ExemplarSpan,
): void {
  let done = false;
  const { handleError, handleReadyForQuery } = q;
  if (typeof handleError === 'function') {
    hide(q, 'handleError', function (this: unknown, err: unknown, connection: unknown) {
      if (!done) {
        done = true;
        record(settings, text, start, err ?? new Error('query failed'), span);
      }
      return handleError.call(this, err, connection);
    });
  }
  if (typeof handleReadyForQuery === 'function') {
    hide(q, 'handleReadyForQuery', function (this: unknown, connection: unknown) {
      if (!done) {
        done = true;
        // pg's Query ends a query whose row could not be parsed here, through handleError.
        const canceled = (q as { _canceledDueToError?: unknown })._canceledDueToError;
        record(settings, text, start, canceled ? canceled : undefined, span);
      }
      return handleReadyForQuery.call(this, connection);
    });
  }
}

function textOf(config: unknown): string | undefined {
  if (typeof config === 'string') return config;
  if (typeof config === 'object' && config !== null) {
    if ((config as Record<symbol, unknown>)[INTERNAL_QUERY] === true) return undefined;
    const text = (config as { text?: unknown }).text;
    return typeof text === 'string' ? text : undefined;
  }
  return undefined;
}

/**
 * The callback pg will call for a query that is not a submittable, by pg's own precedence
 * (utils.normalizeQueryConfig): a truthy third argument, else a function second argument, else
 * the config's `callback`. Anything truthy counts, function or not, as it does for pg.
 */
function callbackOf(config: unknown, values: unknown, callback: unknown): unknown {
  if (callback) return callback;
  if (typeof values === 'function') return values;
  return typeof config === 'object' && config !== null
    ? (config as { callback?: unknown }).callback
    : undefined;
}

/**
 * Wraps Client.prototype.query. Chosen over instrumentation-pg's hooks because those only see
 * the query before it runs (responseHook is skipped on errors, promise rejections lose
 * error.type, and timing would need a span per query); here one closure per query measures the
 * duration and sees every outcome, for callback, promise and submittable queries alike.
 *
 * Invisible: every call reaches pg with the arguments pg would have chosen among, and every
 * call pg rejects (no query, a callback that is not a function) is passed through untouched,
 * so pg throws its own error.
 */
function patchQuery(settings: QuerySettings, original: QueryFn): QueryFn {
  return function query(
    this: unknown,
    config: unknown,
    values?: unknown,
    callback?: unknown,
  ): unknown {
    const text = textOf(config);
    const submittable =
      text !== undefined && typeof (config as { submit?: unknown }).submit === 'function';
    const cb = submittable ? undefined : callbackOf(config, values, callback);
    // Not a query bizmon can label, or a call pg refuses: pass it through untouched,
    // argument count included.
    if (text === undefined || (cb && typeof cb !== 'function')) {
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as [unknown, unknown, unknown]);
    }
    const start = performance.now();
    // The exemplar's span is the caller's: pg calls back in the connection's context.
    const span = exemplarSpan();
    if (submittable) {
      // Timed through the submittable's own end hooks, whatever callback pg gives it.
      timeSubmittable(settings, config as Submittable, text, start, span);
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as [unknown, unknown, unknown]);
    }
    if (typeof cb === 'function') {
      // pg lets a truthy third argument override a function `values` and the config's own
      // callback, so the timed callback goes there and the app's objects stay untouched.
      return original.call(
        this,
        config,
        values,
        timedCallback(settings, cb as Callback, text, start, span),
      );
    }
    // Promise form: run it as a callback query and build the promise as pg does, so the app's
    // promise keeps pg's semantics (an unawaited rejection still reports as unhandled).
    const PromiseImpl = (this as { _Promise?: PromiseConstructor })._Promise ?? Promise;
    let settle: Callback = () => undefined;
    const promise = new PromiseImpl<unknown>((resolve, reject) => {
      settle = (err, res) => (err ? reject(err) : resolve(res));
    });
    original.call(this, config, values, timedCallback(settings, settle, text, start, span));
    return promise.catch((err: unknown) => {
      if (err instanceof Error) Error.captureStackTrace(err);
      throw err;
    });
  };
}

/**
 * Subclass of pg-pool's Pool that registers every pool it constructs, so pool gauges cover pools
 * that have not run a query yet. Returned in place of pg-pool's export, which `pg.Pool` extends.
 */
function trackingPool(Pool: new (...args: unknown[]) => PoolLike): unknown {
  const Tracked = class BizmonTrackedPool extends Pool {
    constructor(...args: unknown[]) {
      super(...args);
      trackPool(this);
    }
  };
  Object.defineProperty(Tracked, 'name', { value: Pool.name });
  Object.defineProperty(Tracked, 'length', { value: Pool.length });
  return Tracked;
}

/** PostgreSQL instrumentation for `pg` and `pg-pool` (both CommonJS and `import`ed). */
export class PgInstrumentation extends InstrumentationBase<PgInstrumentationConfig> {
  /**
   * Read by this instrumentation's query wrappers; set by setConfig. `declare`: the base
   * constructor calls setConfig and init before this class's fields would be initialised, and
   * an initialised field would then overwrite what they set.
   */
  declare private settings: QuerySettings | undefined;

  constructor(config: PgInstrumentationConfig = {}) {
    super('@bizmon/db', VERSION, config);
  }

  /** Also updates the threshold the wrapped queries use (called by the constructor too). */
  override setConfig(config: PgInstrumentationConfig = {}): void {
    super.setConfig(config);
    const threshold = config.slowQueryThresholdMs;
    // The base constructor calls this before this class's fields exist: create on first call.
    this.settings ??= { slowQueryMs: DEFAULT_SLOW_QUERY_THRESHOLD_MS };
    this.settings.slowQueryMs =
      typeof threshold === 'number' && threshold >= 0 ? threshold : DEFAULT_SLOW_QUERY_THRESHOLD_MS;
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const patchClient = (client: unknown): unknown => {
      const Client = extractExports(client) as ClientClass | undefined;
      if (Client?.prototype && typeof Client.prototype.query === 'function') {
        const settings = this.settings!;
        wrapMethod(Client.prototype, 'query', (original) => patchQuery(settings, original));
      }
      return client;
    };
    const unpatchClient = (client: unknown): void => {
      const Client = extractExports(client) as ClientClass | undefined;
      if (Client?.prototype) unwrapMethod(Client.prototype, 'query');
    };
    const pg = new InstrumentationNodeModuleDefinition(
      'pg',
      SUPPORTED_PG,
      (module: unknown) => module,
      undefined,
      [
        new InstrumentationNodeModuleFile(
          'pg/lib/client.js',
          SUPPORTED_PG,
          patchClient,
          unpatchClient,
        ),
      ],
    );
    const pgPool = new InstrumentationNodeModuleDefinition(
      'pg-pool',
      SUPPORTED_PG_POOL,
      (module: unknown) => {
        const Pool = extractExports(module);
        if (typeof Pool !== 'function' || (Pool as { __bizmonTracked?: boolean }).__bizmonTracked)
          return module;
        const Tracked = trackingPool(Pool as new (...args: unknown[]) => PoolLike);
        Object.defineProperty(Tracked, '__bizmonTracked', { value: true });
        return Tracked;
      },
    );
    return [pg, pgPool];
  }
}
