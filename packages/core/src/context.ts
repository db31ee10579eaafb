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
}

/** Role used when no user is known. */
export const ANONYMOUS_ROLE = 'anonymous';

/** Runs `fn` with `context` as the current request context. */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return state.requestContext.run(context, fn);
}

/**
 * Makes `context` the current request context for the rest of the current synchronous
 * execution and everything it schedules (AsyncLocalStorage#enterWith). For instrumentation that
 * sees a request start on a diagnostics_channel and cannot wrap the handler in a callback; it
 * also keeps the context across the request body's events, which `run` does not.
 */
export function enterRequestContext(context: RequestContext): void {
  state.requestContext.enterWith(context);
}

/** The current request's context, or undefined outside a request. */
export function currentRequestContext(): RequestContext | undefined {
  return state.requestContext.getStore();
}

/**
 * Tells bizmon who the current request's user is. Call it from auth middleware; outside a
 * request it does nothing. Never throws.
 */
export function setRequestUser(user: RequestUser): void {
  const context = state.requestContext.getStore();
  if (context !== undefined && user !== null && typeof user === 'object') context.user = user;
}

/** The current request's user role, else `anonymous`. */
export function currentUserRole(): string {
  const role = state.requestContext.getStore()?.user?.role;
  return typeof role === 'string' && role.length > 0 ? role : ANONYMOUS_ROLE;
}
