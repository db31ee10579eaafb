import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
} from '@opentelemetry/instrumentation';
import {
  isWrapped,
  unwrapFunction,
  unwrapMethod,
  warnRateLimited,
  wrapFunction,
  wrapMethod,
} from '@bizmon/core/internal';
import { stateOf, type FrameworkRequest } from './request-state';
import { markFrameworkServer } from './endpoint';
import { configureRecorder, subscribeRequests, unsubscribeRequests } from './recorder';
import { joinRoute, UNMATCHED } from './route-template';
import type { BizmonHttpInstrumentationConfig } from './types';
import { VERSION } from './version';

/**
 * Route templates and thrown errors from the frameworks, through the cheapest hook each offers.
 * Every hook is invisible to the app: nothing is registered with the framework (no Fastify hook,
 * no Koa or Express middleware), no own property is added to an app, router or prototype, and a
 * wrapped method keeps its name and arity, so what a framework reports about itself
 * (`printRoutes`, `printPlugins`, hook lists, router stacks) is the same with bizmon as without
 * (test/framework-differential.test.ts checks it).
 * - Express 4 and 5 (and NestJS on Express): `Route.prototype.dispatch`, which runs once the
 *   router matched, when `req.baseUrl` is the mount path of the (possibly nested) router; its
 *   `done` callback receives the handler's error.
 * - Fastify 4 and 5: lib/handleRequest.js (called once the onRequest and preParsing hooks
 *   passed, before the body is read) and `Reply.prototype.send`/`hijack` (every answer and every
 *   error passes there: handler, hooks, 404 handler) keep the Fastify request and its route
 *   context's url. Fastify hooks would show in `printRoutes({includeHooks})`, `printPlugins()`
 *   and the hook lists; Fastify 5's `tracing:fastify.request.handler:*` channels fire only once
 *   every hook up to preHandler passed (a 401 from an onRequest auth hook would lose its route,
 *   and its errors are not published), and Fastify 4 has none. The `fastify.initialization`
 *   channel marks the app's server, so any request there without a route is `unmatched`.
 * - Koa: `Application.prototype.createContext` keeps the context (for `_matchedRoute` of
 *   @koa/router, `ctx.state.user` and `ctx.ip`) and koa/lib/context.js's `onerror` sees errors.
 * - NestJS: `ExceptionsHandler.prototype.next` sees every exception a handler threw.
 * Patching goes through InstrumentationBase, so require-in-the-middle and (with the `--import`
 * preload) import-in-the-middle both apply.
 */

type AnyFunction = (...args: unknown[]) => unknown;
interface ExpressRouteLike {
  path?: unknown;
}
interface FastifyInstanceLike {
  server?: unknown;
}
interface FastifyReplyLike {
  request?: FrameworkRequest & { raw?: IncomingMessage };
}
type Proto = Record<string | symbol, unknown>;

function isRoutingSignal(err: unknown): boolean {
  return err === undefined || err === null || err === 'route' || err === 'router';
}

function patchRouteDispatch(Route: { prototype: Proto } | undefined): void {
  const proto = Route?.prototype;
  if (proto === undefined || typeof proto.dispatch !== 'function' || isWrapped(proto.dispatch))
    return;
  wrapMethod(proto, 'dispatch', (dispatch) => {
    const original = dispatch as (
      this: ExpressRouteLike,
      req: IncomingMessage,
      res: unknown,
      done: AnyFunction,
    ) => unknown;
    return function dispatchRoute(
      this: ExpressRouteLike,
      req: IncomingMessage,
      res: unknown,
      done: AnyFunction,
    ): unknown {
      const state = stateOf(req);
      if (state === undefined || typeof done !== 'function')
        return original.call(this, req, res, done);
      state.framework = true;
      const route = joinRoute((req as { baseUrl?: unknown }).baseUrl, this.path);
      if (route !== undefined) state.route = route;
      return original.call(this, req, res, function routeDone(this: unknown, err?: unknown) {
        if (!isRoutingSignal(err)) state.error = err;
        // eslint-disable-next-line prefer-rest-params
        return done.apply(this, arguments as unknown as unknown[]);
      });
    };
  });
}

function koaApplication(exports: unknown): { prototype: Proto } | undefined {
  return (typeof exports === 'function' ? exports : (exports as { default?: unknown })?.default) as
    { prototype: Proto } | undefined;
}

function patchKoa(exports: unknown): unknown {
  const proto = koaApplication(exports)?.prototype;
  if (
    proto === undefined ||
    typeof proto.createContext !== 'function' ||
    isWrapped(proto.createContext)
  )
    return exports;
  wrapMethod(proto, 'createContext', (createContext) => {
    const original = createContext as (
      this: unknown,
      req: IncomingMessage,
      res: unknown,
    ) => FrameworkRequest;
    return function createContextWithState(
      this: unknown,
      req: IncomingMessage,
      res: unknown,
    ): FrameworkRequest {
      const ctx = original.call(this, req, res);
      const state = stateOf(req);
      if (state !== undefined) {
        state.framework = true;
        state.frameworkRequest = ctx;
      }
      return ctx;
    };
  });
  return exports;
}

/**
 * Wraps `onerror` of koa/lib/context.js, the prototype of every app's `app.context`, where every
 * Koa error passes. (Wrapping it per app would add an own `onerror` to `app.context`.)
 */
function patchKoaContext(exports: unknown): unknown {
  const context = exports as Proto | undefined;
  const onerror = context?.onerror;
  if (context === undefined || typeof onerror !== 'function' || isWrapped(onerror)) return exports;
  wrapMethod(context, 'onerror', (original) => {
    return function onerrorWithState(this: { req?: IncomingMessage }, err: unknown): unknown {
      const state = stateOf(this.req);
      if (state !== undefined && !isRoutingSignal(err)) state.error = err;
      return (original as AnyFunction).call(this, err);
    };
  });
  return exports;
}

function patchNestExceptionsHandler(exports: unknown): unknown {
  const proto = (exports as { ExceptionsHandler?: { prototype: Proto } })?.ExceptionsHandler
    ?.prototype;
  if (proto === undefined || typeof proto.next !== 'function' || isWrapped(proto.next))
    return exports;
  wrapMethod(proto, 'next', (next) => {
    const original = next as AnyFunction;
    return function nextWithState(
      this: unknown,
      exception: unknown,
      host: { getArgByIndex?: (i: number) => unknown },
    ): unknown {
      try {
        // Express hands Nest the IncomingMessage itself; Fastify a request whose `raw` it is.
        const request = host?.getArgByIndex?.(0) as
          (IncomingMessage & { raw?: IncomingMessage }) | undefined;
        const state = stateOf(request) ?? stateOf(request?.raw);
        if (state !== undefined && exception !== undefined) state.error = exception;
      } catch {
        // a non-HTTP host; nothing to record
      }
      return original.call(this, exception, host);
    };
  });
  return exports;
}

/**
 * The symbol under which Fastify's request and reply keep their route context, read from the
 * lib/symbols.js that a Fastify copy loads just before its lib/reply.js (the instrumentation
 * keeps it for that copy's patches). Reading `context.config.url` costs a property read where
 * the public `request.routeOptions` getter builds an object per call.
 */
function routeContextSymbol(symbols: unknown): symbol | undefined {
  const symbol = (symbols as { kRouteContext?: unknown } | undefined)?.kRouteContext;
  return typeof symbol === 'symbol' ? symbol : undefined;
}

/**
 * The first time bizmon sees a Fastify reply (handleRequest, or `send`/`hijack` when a hook
 * answered first): keeps the Fastify request (user, client address) and its route template, the
 * route context's `config.url`, which the 404 handler's context lacks. An Error sent is the
 * request's error.
 */
function noteFastifyRequest(
  reply: FastifyReplyLike,
  kRouteContext: symbol | undefined,
  payload?: unknown,
): void {
  try {
    const request = reply.request;
    const state = stateOf(request?.raw);
    if (state === undefined) return;
    if (payload instanceof Error) state.error = payload;
    if (state.frameworkRequest !== undefined) return;
    state.framework = true;
    state.frameworkRequest = request;
    if (kRouteContext !== undefined) {
      const context = (reply as Proto)[kRouteContext] as { config?: { url?: unknown } } | undefined;
      state.route = joinRoute('', context?.config?.url) ?? UNMATCHED;
    }
  } catch (err) {
    // Never into the app's reply (a decorated reply or request with a throwing getter).
    warnRateLimited(
      'http-fastify',
      `Fastify request instrumentation failed: ${(err as Error)?.message ?? String(err)}`,
    );
  }
}

/**
 * Wraps Fastify's `Reply.prototype.send` and `hijack` (lib/reply.js; every app's reply class
 * inherits them): every answer passes one of them, from a handler, a hook or the 404 handler.
 */
function patchFastifyReply(exports: unknown, kRouteContext: symbol | undefined): unknown {
  const proto = (exports as { prototype?: Proto } | undefined)?.prototype;
  const send = proto?.send;
  if (proto === undefined || typeof send !== 'function' || isWrapped(send)) return exports;
  wrapMethod(proto, 'send', (original) => {
    return function bizmonSend(this: FastifyReplyLike, payload: unknown): unknown {
      noteFastifyRequest(this, kRouteContext, payload);
      // eslint-disable-next-line prefer-rest-params
      return (original as AnyFunction).apply(this, arguments as unknown as unknown[]);
    };
  });
  // wrapMethod leaves a missing `hijack` alone.
  wrapMethod(proto, 'hijack', (original) => {
    return function bizmonHijack(this: FastifyReplyLike): unknown {
      noteFastifyRequest(this, kRouteContext);
      // eslint-disable-next-line prefer-rest-params
      return (original as AnyFunction).apply(this, arguments as unknown as unknown[]);
    };
  });
  return exports;
}

/**
 * Wraps lib/handleRequest.js (`handle-request.js` in later 5.x), which Fastify calls once the
 * onRequest and preParsing hooks passed, before the body is read and the handler runs: the route
 * is known while a slow handler runs, so a client that goes away still has its route (499).
 */
function patchFastifyHandleRequest(exports: unknown, kRouteContext: symbol | undefined): unknown {
  if (typeof exports !== 'function' || isWrapped(exports)) return exports;
  const original = exports as AnyFunction;
  const wrapper = wrapFunction(original, (handleRequest) => {
    return function bizmonHandleRequest(
      this: unknown,
      _err: unknown,
      _request: unknown,
      reply: FastifyReplyLike,
    ): unknown {
      if (reply !== null && typeof reply === 'object') noteFastifyRequest(reply, kRouteContext);
      // eslint-disable-next-line prefer-rest-params
      return handleRequest.apply(this, arguments as unknown as unknown[]);
    } as AnyFunction;
  });
  // Fastify's reply.js reads the module's internals from it.
  for (const key of Reflect.ownKeys(original)) {
    if (key === 'name' || key === 'length' || key === 'prototype') continue;
    Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(original, key)!);
  }
  return wrapper;
}

/** The HTTP servers of Fastify apps: their requests are routed even when `send` is bypassed. */
function onFastifyInit(message: unknown): void {
  try {
    const server = (message as { fastify?: FastifyInstanceLike }).fastify?.server;
    if (server !== null && typeof server === 'object') markFrameworkServer(server);
  } catch (err) {
    warnRateLimited(
      'http-fastify',
      `could not mark a Fastify server: ${(err as Error)?.message ?? String(err)}`,
    );
  }
}

const FASTIFY_INIT = 'fastify.initialization';

/**
 * bizmon's HTTP instrumentation: subscribes to the request channel and patches the frameworks
 * (see the module comment). Registered by @bizmon/node through `plugin.instrumentations()`.
 */
export class BizmonHttpInstrumentation extends InstrumentationBase<BizmonHttpInstrumentationConfig> {
  /**
   * Whether this instance subscribed to Fastify's initialization channel. `declare`: the base
   * constructor calls enable() before this class's fields would be initialised, and an
   * initialised field would then reset what it set.
   */
  declare private fastifySubscribed: boolean | undefined;

  constructor(config: BizmonHttpInstrumentationConfig = {}) {
    super('@bizmon/http', VERSION, config);
  }

  /** Also applies `ignorePaths` and `abuseDetection` (called by the constructor too). */
  override setConfig(config: BizmonHttpInstrumentationConfig = {}): void {
    super.setConfig(config);
    configureRecorder(config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const patchRoute = (exports: unknown): unknown => {
      patchRouteDispatch(exports as { prototype: Proto });
      return exports;
    };
    const unpatchRoute = (exports: unknown): void => {
      const proto = (exports as { prototype?: Proto } | undefined)?.prototype;
      if (proto !== undefined) unwrapMethod(proto, 'dispatch');
    };
    const unpatchKoa = (exports: unknown): void => {
      const proto = koaApplication(exports)?.prototype;
      if (proto !== undefined) unwrapMethod(proto, 'createContext');
    };
    const unpatchKoaContext = (exports: unknown): void => {
      if (exports !== null && typeof exports === 'object')
        unwrapMethod(exports as Proto, 'onerror');
    };
    const unpatchFastifyReply = (exports: unknown): void => {
      const proto = (exports as { prototype?: Proto } | undefined)?.prototype;
      if (proto === undefined) return;
      unwrapMethod(proto, 'send');
      unwrapMethod(proto, 'hijack');
    };
    const unpatchNest = (exports: unknown): void => {
      const proto = (exports as { ExceptionsHandler?: { prototype: Proto } } | undefined)
        ?.ExceptionsHandler?.prototype;
      if (proto !== undefined) unwrapMethod(proto, 'next');
    };
    // handleRequest's module export is replaced whole, and Fastify's reply.js holds the wrapper:
    // disabling can only switch it off (it then calls Fastify's function straight through).
    // InstrumentationBase hands unpatch the original export, hence the map to its wrapper.
    const handleRequestWrappers = new WeakMap<object, unknown>();
    // Set by each Fastify copy's lib/symbols.js, which it loads before the files patched below.
    let kRouteContext: symbol | undefined;
    const captureFastifySymbols = (exports: unknown): unknown => {
      kRouteContext = routeContextSymbol(exports);
      return exports;
    };
    const patchFastifyReplyFile = (exports: unknown): unknown =>
      patchFastifyReply(exports, kRouteContext);
    const patchHandleRequest = (exports: unknown): unknown => {
      const wrapper = patchFastifyHandleRequest(exports, kRouteContext);
      if (wrapper !== exports && typeof exports === 'function')
        handleRequestWrappers.set(exports, wrapper);
      return wrapper;
    };
    const unpatchHandleRequest = (exports: unknown): void => {
      if (typeof exports === 'function') unwrapFunction(handleRequestWrappers.get(exports));
    };
    // lib/symbols.js is only read, never patched.
    const noop = (): void => undefined;
    return [
      new InstrumentationNodeModuleDefinition('express', ['>=4.0.0 <5'], undefined, undefined, [
        new InstrumentationNodeModuleFile(
          'express/lib/router/route.js',
          ['>=4.0.0 <5'],
          patchRoute,
          unpatchRoute,
        ),
      ]),
      new InstrumentationNodeModuleDefinition('router', ['>=1.0.0 <3'], undefined, undefined, [
        new InstrumentationNodeModuleFile(
          'router/lib/route.js',
          ['>=1.0.0 <3'],
          patchRoute,
          unpatchRoute,
        ),
      ]),
      new InstrumentationNodeModuleDefinition('koa', ['>=2.0.0 <4'], patchKoa, unpatchKoa, [
        new InstrumentationNodeModuleFile(
          'koa/lib/context.js',
          ['>=2.0.0 <4'],
          patchKoaContext,
          unpatchKoaContext,
        ),
      ]),
      new InstrumentationNodeModuleDefinition('fastify', ['>=4.0.0 <6'], undefined, undefined, [
        new InstrumentationNodeModuleFile(
          'fastify/lib/symbols.js',
          ['>=4.0.0 <6'],
          captureFastifySymbols,
          noop,
        ),
        new InstrumentationNodeModuleFile(
          'fastify/lib/handleRequest.js',
          ['>=4.0.0 <6'],
          patchHandleRequest,
          unpatchHandleRequest,
        ),
        new InstrumentationNodeModuleFile(
          'fastify/lib/handle-request.js',
          ['>=4.0.0 <6'],
          patchHandleRequest,
          unpatchHandleRequest,
        ),
        new InstrumentationNodeModuleFile(
          'fastify/lib/reply.js',
          ['>=4.0.0 <6'],
          patchFastifyReplyFile,
          unpatchFastifyReply,
        ),
      ]),
      new InstrumentationNodeModuleDefinition(
        '@nestjs/core',
        ['>=8.0.0 <12'],
        undefined,
        undefined,
        [
          new InstrumentationNodeModuleFile(
            '@nestjs/core/exceptions/exceptions-handler.js',
            ['>=8.0.0 <12'],
            patchNestExceptionsHandler,
            unpatchNest,
          ),
        ],
      ),
    ];
  }

  // InstrumentationBase's constructor already calls enable(), and registerInstrumentations
  // calls it again: the subscriptions are idempotent.
  override enable(): void {
    super.enable();
    subscribeRequests();
    if (this.fastifySubscribed !== true) diagnostics.subscribe(FASTIFY_INIT, onFastifyInit);
    this.fastifySubscribed = true;
  }

  override disable(): void {
    super.disable();
    unsubscribeRequests();
    if (this.fastifySubscribed === true) diagnostics.unsubscribe(FASTIFY_INIT, onFastifyInit);
    this.fastifySubscribed = false;
  }
}
