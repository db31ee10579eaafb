import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { errorTypeOf, instruments } from '@bizmon/core';
import {
  ANONYMOUS_ROLE,
  currentRequestContext,
  defineSignal,
  exemplarSpan,
  observeWithExemplar,
  enterRequestContext,
  isOwnServerRequest,
  warnRateLimited,
} from '@bizmon/core/internal';
import { abuseDetector } from './abuse';
import { addressKey, clientIp } from './client-address';
import { endpointOf } from './endpoint';
import { attachState, RequestState, stateOf } from './request-state';
import type { BizmonHttpInstrumentationConfig } from './types';

/**
 * Request metrics from Node's own `http.server.request.start` diagnostics channel and the
 * response's `close` event: every request of every server, with no span machinery, no module
 * patching (so ESM apps need no loader hook for it) and no tracer provider. The request context
 * is entered with AsyncLocalStorage#enterWith at request start, which also covers the body's
 * events (express.json() then auth middleware), unlike wrapping the handler in `run`.
 */

const REQUEST_START = 'http.server.request.start';

interface RequestStartMessage {
  request: IncomingMessage;
  response: ServerResponse;
}

/** Status code strings, so the hot path formats nothing. */
const STATUS_TEXT: string[] = [];
for (let code = 100; code < 600; code++) STATUS_TEXT[code] = String(code);

/** nginx's "client closed request": the client went away before the response finished. */
export const CLIENT_CLOSED_STATUS = 499;

const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'TRACE',
]);

/*
 * The recorder's per-process state, kept here on purpose: one subscriber per process counts
 * every request (subscribeRequests), so there is one in-flight count (the gauge's value) and one
 * list of ignored prefixes, the `ignorePaths` of the instrumentation configured last
 * (BizmonHttpInstrumentation.setConfig, and the plugin's start() for a service without a framework).
 */
let ignorePrefixes: readonly string[] = [];
let inFlight = 0;

/**
 * Applies the instrumentation's configuration (see BizmonHttpInstrumentationConfig): the
 * ignored prefixes and, when given, the abuse detection's thresholds.
 */
export function configureRecorder(config: BizmonHttpInstrumentationConfig): void {
  const prefixes = config.ignorePaths ?? [];
  ignorePrefixes = prefixes.filter((p) => typeof p === 'string' && p.length > 0);
  if (config.abuseDetection !== undefined) abuseDetector.configure(config.abuseDetection);
}

function isIgnored(url: string | undefined): boolean {
  if (url === undefined) return false;
  for (let i = 0; i < ignorePrefixes.length; i++)
    if (url.startsWith(ignorePrefixes[i]!)) return true;
  return false;
}

/**
 * Calls `listener` with the user id of every finished request whose user is known
 * (`setRequestUser({id})`, else `req.user.id`): the activity signal for active-user metrics.
 * Returns an unsubscribe function. A listener that throws is logged and ignored.
 */
export function onAuthenticatedRequest(listener: (userId: string) => void): () => void {
  return authenticatedRequests.subscribe(listener);
}

/** http's signal of an authenticated request (its user id); @bizmon/node wires it to business. */
const authenticatedRequests = defineSignal<string>('bizmon:http.authenticated-request');

function onRequestStart(message: unknown): void {
  try {
    const { request, response } = message as RequestStartMessage;
    if (isOwnServerRequest(request) || isIgnored(request.url)) return;
    const state = new RequestState(performance.now(), request);
    attachState(request, state);
    enterRequestContext(state);
    inFlight++;
    instruments.http_concurrent_connections.labels().set(inFlight);
    response.on('close', onResponseClose);
  } catch (err) {
    warnRateLimited(
      'http-start',
      `request instrumentation failed: ${(err as Error)?.message ?? String(err)}`,
    );
  }
}

function idString(id: unknown): string | undefined {
  if (typeof id === 'string') return id.length > 0 ? id : undefined;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return undefined;
}

/** Epoch milliseconds of performance.now()'s zero: one clock read per request serves both. */
const TIME_ORIGIN = performance.timeOrigin;

function onResponseClose(this: ServerResponse): void {
  try {
    const req = this.req;
    const state = stateOf(req);
    // An ignored request already left the gauge when it was marked.
    if (state === undefined || state.ignored) return;
    inFlight--;
    instruments.http_concurrent_connections.labels().set(inFlight);
    const end = performance.now();
    const seconds = (end - state.startedAt) / 1000;
    const status = this.writableFinished ? this.statusCode : CLIENT_CLOSED_STATUS;
    const method = KNOWN_METHODS.has(req.method ?? '') ? req.method! : 'OTHER';
    const endpoint = endpointOf(req, state, status);
    const fw = state.frameworkRequest;
    const user = state.user;
    let role = user?.role;
    let id = idString(user?.id);
    if (typeof role !== 'string' || role.length === 0 || id === undefined) {
      const fallback = state.frameworkUser();
      if (typeof role !== 'string' || role.length === 0)
        role = fallback?.role as string | undefined;
      id ??= idString(fallback?.id);
    }
    if (typeof role !== 'string' || role.length === 0) role = ANONYMOUS_ROLE;
    instruments.http_requests_total
      .labels(method, endpoint, STATUS_TEXT[status] ?? String(status), role)
      .add(1);
    // The span active here is the one the response was ended in: instrumentation-http runs
    // the handler in the request's server span, and the response's write callbacks (which
    // emit 'close') carry that context, so this is the request's span (or a span the app
    // opened around sending the response) without holding anything per request.
    observeWithExemplar(
      instruments.http_request_duration_seconds.labels(method, endpoint),
      seconds,
      exemplarSpan(),
    );
    if (state.error !== undefined && status >= 500) {
      instruments.application_errors_total.labels(errorTypeOf(state.error), 'http').add(1);
    }
    if (id !== undefined) {
      // Activity for @bizmon/business's active-user metrics.
      authenticatedRequests.emit(id);
    }
    abuseDetector.observeRequest(
      id !== undefined ? `user:${id}` : addressKey(req, fw),
      status,
      TIME_ORIGIN + end,
    );
  } catch (err) {
    warnRateLimited(
      'http-finish',
      `request instrumentation failed: ${(err as Error)?.message ?? String(err)}`,
    );
  }
}

/**
 * Feeds a failed login to credential-stuffing detection (called by `security.loginFailure` of
 * @bizmon/business). `ip` defaults to the current request's client address. Records no login
 * metric itself; the username is hashed, never kept. Never throws.
 */
export function recordLoginFailure(details: { ip?: string; username?: string }): void {
  try {
    if (details === null || typeof details !== 'object' || typeof details.username !== 'string')
      return;
    let ip = details.ip;
    if (typeof ip !== 'string' || ip.length === 0) {
      const context = currentRequestContext();
      if (!(context instanceof RequestState)) return;
      ip = clientIp(context.req, context.frameworkRequest);
    }
    abuseDetector.recordLoginFailure(ip, details.username);
  } catch (err) {
    warnRateLimited(
      'http-login',
      `credential-stuffing detection failed: ${(err as Error)?.message ?? String(err)}`,
    );
  }
}

const SUBSCRIBED = Symbol.for('bizmon.http.subscriber');
type Holder = typeof globalThis & { [SUBSCRIBED]?: (message: unknown) => void };

/**
 * Starts measuring every HTTP request of the process. Only one copy of this package subscribes,
 * so two versions side by side still count each request once.
 */
export function subscribeRequests(): void {
  const holder = globalThis as Holder;
  if (holder[SUBSCRIBED] !== undefined) return;
  holder[SUBSCRIBED] = onRequestStart;
  diagnostics.subscribe(REQUEST_START, onRequestStart);
}

/** Stops measuring (shutdown). Requests in flight still finish their bookkeeping. */
export function unsubscribeRequests(): void {
  const holder = globalThis as Holder;
  if (holder[SUBSCRIBED] !== onRequestStart) return;
  diagnostics.unsubscribe(REQUEST_START, onRequestStart);
  holder[SUBSCRIBED] = undefined;
}

/** Requests in flight now (the gauge's value). */
export function requestsInFlight(): number {
  return inFlight;
}

/** Marks the current request as not counted (the app-mounted monitoring endpoints). */
export function ignoreRequest(req: IncomingMessage): void {
  const state = stateOf(req);
  if (state === undefined || state.ignored) return;
  state.ignored = true;
  inFlight--;
  instruments.http_concurrent_connections.labels().set(inFlight);
}
