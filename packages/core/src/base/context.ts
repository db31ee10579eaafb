import { AsyncLocalStorage } from 'node:async_hooks';
import { state } from './state';

/** The authenticated user of a request, as the app knows it. */
export interface RequestUser {
  /** Stable user id; counts as activity, never becomes a label. */
  id?: string;
  /** Role label value (`admin`, `vip`, `user`, …). */
  role?: string;
}

/**
 * What bizmon knows about the request being served. Created by @bizmon/http when a request
 * starts; the app fills in the user (setRequestUser) once it has authenticated it.
 */
export interface RequestContext {
  user?: RequestUser;
  /**
   * The user object a framework's auth attached to the request (passport's `req.user`), read
   * when no `user` was set, so helpers label with the same role as the request's HTTP metric.
   */
  frameworkUser?(): { id?: unknown; role?: unknown } | undefined;
}

/** Role used when no user is known. */
export const ANONYMOUS_ROLE = 'anonymous';

/**
 * Arms the request context: requests entering from now on carry one. Called when the app loads
 * the main entry of @bizmon/http or @bizmon/business (normally before it serves, so its counts
 * are exact from the first request), by every reader and writer below (for an app that reaches
 * them some other way), and at start with `BIZMON_REQUEST_CONTEXT=always`.
 *
 * Why not always: on Node 20 an AsyncLocalStorage that has been entered runs an async_hooks
 * `init` hook for every async resource of the process, measured at about 8% of a trivial HTTP
 * server's CPU (bench/README.md). An app that only runs with the preload and never imports
 * either package cannot read the context and should not pay for it. Arming at the first read
 * alone was not enough: the requests already in flight at that moment, the first authenticated
 * one included, had no context and their helpers counted `anonymous`.
 */
export function armRequestContext(): void {
  state.requestContextInUse = true;
}

/**
 * Whether AsyncLocalStorage runs on AsyncContextFrame (Node 24 by default; Node 22 with
 * `--experimental-async-context-frame`), where an entered store costs the async resources of the
 * process nothing: the async_hooks implementation, which has the `_propagate` init hook, is the
 * one useRequestContext() is careful about. Measured (trivial server, server CPU per request
 * against bare, bench/http.mjs --variants bizmon,bizmon-always): Node 20 on-demand 0.95×,
 * always 0.82×; Node 22 0.92× and 0.86×; Node 24 0.94× and 0.92×. So `always` is the default
 * where it is cheap.
 */
export const requestContextIsCheap: boolean =
  typeof (AsyncLocalStorage.prototype as { _propagate?: unknown })._propagate !== 'function';

/** Runs `fn` with `context` as the current request context. */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  state.requestContextInUse = true;
  return state.requestContext.run(context, fn);
}

/**
 * Makes `context` the current request context for the rest of the current synchronous
 * execution and everything it schedules (AsyncLocalStorage#enterWith), once the context is in
 * armed (see {@link armRequestContext}). For instrumentation that sees a request start on a
 * diagnostics_channel and cannot wrap the handler in a callback; it also keeps the context
 * across the request body's events, which `run` does not.
 */
export function enterRequestContext(context: RequestContext): void {
  if (state.requestContextInUse) state.requestContext.enterWith(context);
}

/** The current request's context, or undefined outside a request. */
export function currentRequestContext(): RequestContext | undefined {
  state.requestContextInUse = true;
  return state.requestContext.getStore();
}

/**
 * Tells bizmon who the current request's user is. Call it from auth middleware; outside a
 * request it does nothing. Never throws.
 */
export function setRequestUser(user: RequestUser): void {
  const context = currentRequestContext();
  if (context !== undefined && user !== null && typeof user === 'object') context.user = user;
}

function isRole(role: unknown): role is string {
  return typeof role === 'string' && role.length > 0;
}

/**
 * The current request's user role: the one `setRequestUser` gave, else the framework user's
 * (`req.user.role`), else `anonymous`.
 */
export function currentUserRole(): string {
  const context = currentRequestContext();
  if (context === undefined) return ANONYMOUS_ROLE;
  const role = context.user?.role;
  if (isRole(role)) return role;
  const fromFramework = context.frameworkUser?.()?.role;
  return isRole(fromFramework) ? fromFramework : ANONYMOUS_ROLE;
}
