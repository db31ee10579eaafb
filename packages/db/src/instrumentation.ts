import { performance } from 'node:perf_hooks';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
} from '@opentelemetry/instrumentation';
import { instruments, unwrapMethod, warnRateLimited, wrapMethod } from '@bizmon/core';
import { parseStatement } from './sql';
import { DEADLOCK_SQLSTATE, errorTypeOf, sqlstateOf } from './errors';
import { INTERNAL_QUERY, trackPool, type PoolLike } from './pools';

const VERSION = '0.1.0';
const SUPPORTED_PG = ['>=8.0.3 <9'];
const SUPPORTED_PG_POOL = ['>=2.0.0 <4'];

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

/** Slow-query threshold in milliseconds (BIZMON_DB_SLOW_QUERY_MS). */
let slowQueryMs = 1000;

/** @internal Set from the configuration when the plugin loads. */
export function setSlowQueryThreshold(ms: number): void {
  slowQueryMs = ms;
}

/** Records one finished query. */
function record(text: string, start: number, err: unknown): void {
  try {
    const seconds = (performance.now() - start) / 1000;
    const { table, operation } = parseStatement(text);
    instruments.db_query_duration_seconds.labels(table, operation).observe(seconds);
    if (seconds * 1000 >= slowQueryMs)
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
function timedCallback(cb: Callback, text: string, start: number): Callback {
  return function (this: unknown, err: unknown, res: unknown) {
    record(text, start, err);
    return cb.call(this, err, res);
  };
}

/** Submittables (pg-cursor, pg-query-stream, Query objects) end in handleError or handleReadyForQuery. */
function timeSubmittable(q: Submittable, text: string, start: number): void {
  let done = false;
  const { handleError, handleReadyForQuery } = q;
  let failure: unknown;
  if (typeof handleError === 'function') {
    q.handleError = function (this: unknown, err: unknown, connection: unknown) {
      failure ??= err ?? new Error('query failed');
      // A connection-level error never reaches handleReadyForQuery.
      if (!done && connection === undefined) {
        done = true;
        record(text, start, failure);
      }
      return handleError.call(this, err, connection);
    };
  }
  if (typeof handleReadyForQuery === 'function') {
    q.handleReadyForQuery = function (this: unknown, connection: unknown) {
      if (!done) {
        done = true;
        record(text, start, failure);
      }
      return handleReadyForQuery.call(this, connection);
    };
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
 * Wraps Client.prototype.query. Chosen over instrumentation-pg's hooks because those only see
 * the query before it runs (responseHook is skipped on errors, promise rejections lose
 * error.type, and timing would need a span per query); here one closure per query measures the
 * duration and sees every outcome, for callback, promise and submittable queries alike.
 */
function patchQuery(original: QueryFn): QueryFn {
  return function query(
    this: unknown,
    config: unknown,
    values?: unknown,
    callback?: unknown,
  ): unknown {
    const text = textOf(config);
    // Not a query bizmon can label: pass the call through untouched, argument count included.
    if (text === undefined) {
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as [unknown, unknown, unknown]);
    }
    const start = performance.now();
    if (typeof (config as Submittable).submit === 'function') {
      const q = config as Submittable;
      if (!q.callback && typeof values !== 'function' && typeof callback !== 'function')
        timeSubmittable(q, text, start);
      else if (typeof q.callback === 'function')
        q.callback = timedCallback(q.callback as Callback, text, start);
      else if (typeof values === 'function')
        values = timedCallback(values as Callback, text, start);
      else callback = timedCallback(callback as Callback, text, start);
      return original.call(this, config, values, callback);
    }
    if (typeof values === 'function')
      return original.call(this, config, timedCallback(values as Callback, text, start), callback);
    if (typeof callback === 'function')
      return original.call(this, config, values, timedCallback(callback as Callback, text, start));
    if (
      typeof config === 'object' &&
      typeof (config as { callback?: unknown }).callback === 'function'
    ) {
      // A config object carrying its own callback: shadow it without touching the app's object.
      const shadow = Object.create(config as object) as { callback: Callback };
      shadow.callback = timedCallback((config as { callback: Callback }).callback, text, start);
      return original.call(this, shadow, values, callback);
    }
    // Promise form: run it as a callback query and build the promise as pg does, so the app's
    // promise keeps pg's semantics (an unawaited rejection still reports as unhandled).
    const PromiseImpl = (this as { _Promise?: PromiseConstructor })._Promise ?? Promise;
    let settle: Callback = () => undefined;
    const promise = new PromiseImpl<unknown>((resolve, reject) => {
      settle = (err, res) => (err ? reject(err) : resolve(res));
    });
    original.call(this, config, values, timedCallback(settle, text, start));
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
  return Tracked;
}

/** PostgreSQL instrumentation for `pg` and `pg-pool` (both CommonJS and `import`ed). */
export class PgInstrumentation extends InstrumentationBase {
  constructor() {
    super('@bizmon/db', VERSION, {});
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const patchClient = (client: unknown): unknown => {
      const Client = extractExports(client) as ClientClass | undefined;
      if (Client?.prototype && typeof Client.prototype.query === 'function') {
        wrapMethod(Client.prototype, 'query', patchQuery);
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
