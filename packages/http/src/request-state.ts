import type { IncomingMessage } from 'node:http';
import type { RequestUser } from '@bizmon/core';
import { currentRequestContext, type RequestContext } from '@bizmon/core/internal';

/**
 * What @bizmon/http knows about one request in flight. It is also the request context that
 * core's AsyncLocalStorage carries (so `setRequestUser` writes `user` here), and it hangs off the
 * request object under a symbol so the response's `close` listener finds it without a lookup.
 * One class with every field set in the constructor keeps a single hidden class.
 */
export class RequestState implements RequestContext {
  user: RequestUser | undefined = undefined;
  /** Route template, once a framework hook or `setRoute` told us. */
  route: string | undefined = undefined;
  /** A framework routed the request, so no template means no route matched. */
  framework = false;
  /** The framework's own request object (Fastify request, Koa context), read at the end. */
  frameworkRequest: FrameworkRequest | undefined = undefined;
  /** The error a handler threw, as the framework reported it. */
  error: unknown = undefined;
  /** Not counted (a monitoring endpoint served it). */
  ignored = false;
  constructor(
    readonly startedAt: number,
    /** The request, for its client address (credential-stuffing detection). */
    readonly req: IncomingMessage,
  ) {}

  /** Where auth put a user object: passport's `req.user`, Fastify's, Koa's `ctx.state.user`. */
  frameworkUser(): { role?: unknown; id?: unknown } | undefined {
    const fw = this.frameworkRequest;
    const candidate = (this.req as { user?: unknown }).user ?? fw?.user ?? fw?.state?.user;
    return candidate !== null && typeof candidate === 'object'
      ? (candidate as { role?: unknown; id?: unknown })
      : undefined;
  }
}

/** The parts of a Fastify request or Koa context that we read when the response ends. */
export interface FrameworkRequest {
  /** Fastify request / Koa state user (passport-style). */
  user?: unknown;
  state?: { user?: unknown };
  /** Koa @koa/router's matched layer path. */
  _matchedRoute?: unknown;
  /** Client address as the framework sees it (its trust-proxy setting applied). */
  ip?: unknown;
  /** Fastify ≥4.10. */
  routeOptions?: { url?: unknown };
  /** Fastify <4.10. */
  routerPath?: unknown;
}

/** Where the state hangs on `IncomingMessage`; shared by copies of this package. */
export const STATE = Symbol.for('bizmon.http.requestState');

type WithState = IncomingMessage & { [STATE]?: RequestState };

/** The state of a request we are measuring, if any. */
export function stateOf(req: IncomingMessage | undefined | null): RequestState | undefined {
  return req === undefined || req === null ? undefined : (req as WithState)[STATE];
}

/** Attaches `state` to `req`. */
export function attachState(req: IncomingMessage, state: RequestState): void {
  (req as WithState)[STATE] = state;
}

/**
 * Sets the current request's route template (`/orders/:id`), for frameworks bizmon does not
 * instrument. Call it inside the request (handler or middleware); elsewhere it does nothing.
 * Pass the template, never the raw path: the value becomes the `endpoint` label.
 */
export function setRoute(template: string): void {
  const context = currentRequestContext();
  if (context instanceof RequestState && typeof template === 'string' && template.length > 0)
    context.route = template;
}
