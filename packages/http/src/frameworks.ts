import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { warnRateLimited } from '@bizmon/core';
import { stateOf, type FrameworkRequest } from './request-state';
import { subscribeRequests, unsubscribeRequests } from './recorder';
import { joinRoute } from './route-template';

/**
 * Route templates and thrown errors from the frameworks, through the cheapest hook each offers:
 * - Express 4 and 5 (and NestJS on Express): `Route.prototype.dispatch`, which runs once the
 *   router matched, when `req.baseUrl` is the mount path of the (possibly nested) router; its
 *   `done` callback receives the handler's error.
 * - Fastify 4 and 5: the framework's own `fastify.initialization` diagnostics channel, where
 *   one `onRequest` and one `onError` hook are added; no module patching.
 * - Koa: `Application.prototype.createContext` keeps the context (for `_matchedRoute` of
 *   @koa/router, `ctx.state.user` and `ctx.ip`) and the context's `onerror` sees errors.
 * - NestJS: `ExceptionsHandler.prototype.next` sees every exception a handler threw.
 * Patching goes through InstrumentationBase, so require-in-the-middle and (with the `--import`
 * preload) import-in-the-middle both apply.
 */

const VERSION = '0.1.0';
const PATCHED = Symbol.for('bizmon.http.patched');

type AnyFunction = (...args: unknown[]) => unknown;
interface ExpressRouteLike {
  path?: unknown;
}
interface FastifyInstanceLike {
  addHook(name: string, hook: AnyFunction): unknown;
}
interface FastifyRequestLike extends FrameworkRequest {
  raw: IncomingMessage;
}

function isRoutingSignal(err: unknown): boolean {
  return err === undefined || err === null || err === 'route' || err === 'router';
}

function patchRouteDispatch(
  Route: { prototype: Record<string | symbol, unknown> } | undefined,
): void {
  const proto = Route?.prototype;
  if (proto === undefined || typeof proto.dispatch !== 'function' || proto[PATCHED]) return;
  const original = proto.dispatch as (
    this: ExpressRouteLike,
    req: IncomingMessage,
    res: unknown,
    done: AnyFunction,
  ) => unknown;
  proto.dispatch = function dispatch(
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
  proto[PATCHED] = true;
}

function patchKoa(exports: unknown): unknown {
  const Application = (
    typeof exports === 'function' ? exports : (exports as { default?: unknown })?.default
  ) as { prototype: Record<string | symbol, unknown> } | undefined;
  const proto = Application?.prototype;
  if (proto === undefined || typeof proto.createContext !== 'function' || proto[PATCHED])
    return exports;
  const original = proto.createContext as (
    this: { context?: object },
    req: IncomingMessage,
    res: unknown,
  ) => FrameworkRequest;
  proto.createContext = function createContext(
    this: { context?: object },
    req: IncomingMessage,
    res: unknown,
  ): FrameworkRequest {
    const ctx = original.call(this, req, res);
    const state = stateOf(req);
    if (state !== undefined) {
      state.framework = true;
      state.frameworkRequest = ctx;
      patchKoaOnerror(this.context);
    }
    return ctx;
  };
  proto[PATCHED] = true;
  return exports;
}

/** Wraps the context prototype's `onerror` (once per app), where every Koa error passes. */
function patchKoaOnerror(context: object | undefined): void {
  if (context === undefined || (context as Record<symbol, unknown>)[PATCHED]) return;
  const original = (context as { onerror?: unknown }).onerror;
  if (typeof original !== 'function') return;
  Object.defineProperty(context, 'onerror', {
    configurable: true,
    writable: true,
    value: function onerror(this: { req?: IncomingMessage }, err: unknown): unknown {
      const state = stateOf(this.req);
      if (state !== undefined && !isRoutingSignal(err)) state.error = err;
      return (original as AnyFunction).call(this, err);
    },
  });
  Object.defineProperty(context, PATCHED, { value: true });
}

function patchNestExceptionsHandler(exports: unknown): unknown {
  const Handler = (
    exports as { ExceptionsHandler?: { prototype: Record<string | symbol, unknown> } }
  )?.ExceptionsHandler;
  const proto = Handler?.prototype;
  if (proto === undefined || typeof proto.next !== 'function' || proto[PATCHED]) return exports;
  const original = proto.next as AnyFunction;
  proto.next = function next(
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
  proto[PATCHED] = true;
  return exports;
}

function onFastifyRequest(request: FastifyRequestLike, _reply: unknown, done: () => void): void {
  const state = stateOf(request.raw);
  if (state !== undefined) {
    state.framework = true;
    state.frameworkRequest = request;
  }
  done();
}

function onFastifyError(
  request: FastifyRequestLike,
  _reply: unknown,
  error: unknown,
  done: () => void,
): void {
  const state = stateOf(request.raw);
  if (state !== undefined) state.error = error;
  done();
}

function onFastifyInit(message: unknown): void {
  try {
    const fastify = (message as { fastify?: FastifyInstanceLike }).fastify;
    if (fastify === undefined || typeof fastify.addHook !== 'function') return;
    fastify.addHook('onRequest', onFastifyRequest as AnyFunction);
    fastify.addHook('onError', onFastifyError as AnyFunction);
  } catch (err) {
    warnRateLimited(
      'http-fastify',
      `could not add bizmon's Fastify hooks: ${(err as Error)?.message ?? String(err)}`,
    );
  }
}

const FASTIFY_INIT = 'fastify.initialization';
let fastifySubscribed = false;

/**
 * bizmon's HTTP instrumentation: subscribes to the request channel and patches the frameworks
 * (see the module comment). Registered by @bizmon/node through `plugin.instrumentations()`.
 */
export class BizmonHttpInstrumentation extends InstrumentationBase<InstrumentationConfig> {
  constructor(config: InstrumentationConfig = {}) {
    super('@bizmon/http', VERSION, config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const patchRoute = (exports: unknown): unknown => {
      patchRouteDispatch(exports as { prototype: Record<string | symbol, unknown> });
      return exports;
    };
    const noop = (): void => undefined;
    return [
      new InstrumentationNodeModuleDefinition('express', ['>=4.0.0 <5'], undefined, undefined, [
        new InstrumentationNodeModuleFile(
          'express/lib/router/route.js',
          ['>=4.0.0 <5'],
          patchRoute,
          noop,
        ),
      ]),
      new InstrumentationNodeModuleDefinition('router', ['>=1.0.0 <3'], undefined, undefined, [
        new InstrumentationNodeModuleFile('router/lib/route.js', ['>=1.0.0 <3'], patchRoute, noop),
      ]),
      new InstrumentationNodeModuleDefinition('koa', ['>=2.0.0 <4'], patchKoa, noop),
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
            noop,
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
    if (!fastifySubscribed) diagnostics.subscribe(FASTIFY_INIT, onFastifyInit);
    fastifySubscribed = true;
  }

  override disable(): void {
    super.disable();
    unsubscribeRequests();
    if (fastifySubscribed) diagnostics.unsubscribe(FASTIFY_INIT, onFastifyInit);
    fastifySubscribed = false;
  }
}
