import type { IncomingMessage } from 'node:http';
import type { RequestState } from './request-state';
import { joinRoute, routeTemplate, UNMATCHED } from './route-template';

/**
 * Endpoint labelling: the `endpoint` label of a finished request, from the framework's matched
 * route, else `unmatched`, else the raw-path template of a plain node:http server.
 */

function pathTemplate(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : joinRoute('', value);
}

/** The route template a framework matched, read once the response ended. */
function frameworkRoute(req: IncomingMessage, state: RequestState): string | undefined {
  if (state.route !== undefined) return state.route;
  const fw = state.frameworkRequest;
  if (fw !== undefined) {
    // Fastify 4 warns on `routerPath` reads; only Fastify <4.10 lacks routeOptions.
    const options = fw.routeOptions;
    return (
      pathTemplate(fw._matchedRoute) ??
      (options !== undefined ? pathTemplate(options.url) : pathTemplate(fw.routerPath))
    );
  }
  // Express without our Route patch (a bundled app): the matched route and its mount path.
  const route = (req as { route?: { path?: unknown } }).route;
  return route !== undefined && route !== null
    ? joinRoute((req as { baseUrl?: unknown }).baseUrl, route.path)
    : undefined;
}

/**
 * Servers a framework answers every request of (Fastify's): a request there that matched no
 * route is `unmatched` even if the framework never handed it to bizmon's hooks.
 */
const frameworkServers = new WeakSet<object>();

/** Marks `server` as a framework's (see `frameworkServers`). */
export function markFrameworkServer(server: object): void {
  frameworkServers.add(server);
}

/**
 * Whether a framework saw the request: then a request without a route template is one the
 * framework answered without matching a route (404, Express's automatic OPTIONS answer, a
 * body-parser 400, a trailing-slash redirect, a 405…). Express marks every request it routes
 * with `originalUrl`.
 */
function isFrameworkRequest(req: IncomingMessage, state: RequestState): boolean {
  if (state.framework || (req as { originalUrl?: unknown }).originalUrl !== undefined) return true;
  const server = (req.socket as { server?: unknown } | null)?.server;
  return typeof server === 'object' && server !== null && frameworkServers.has(server);
}

/**
 * The endpoint label: the matched route's template; else `unmatched` for any request a framework
 * answered without a route and for 404s (so no client can add series by choosing paths); else,
 * for plain node:http servers only, the seed's raw-path rule.
 */
export function endpointOf(req: IncomingMessage, state: RequestState, status: number): string {
  const template = frameworkRoute(req, state);
  if (template !== undefined) return template;
  if (status === 404 || isFrameworkRequest(req, state)) return UNMATCHED;
  return cachedTemplate(req.url ?? '/');
}

/**
 * Raw paths repeat (`/health`, `/`); a small cache saves re-templating them. It is cleared when
 * full, so random paths from a scanner cost a bounded amount.
 */
const templateCache = new Map<string, string>();
const TEMPLATE_CACHE_SIZE = 1000;

function cachedTemplate(url: string): string {
  let template = templateCache.get(url);
  if (template === undefined) {
    template = routeTemplate(url);
    if (templateCache.size >= TEMPLATE_CACHE_SIZE) templateCache.clear();
    templateCache.set(url, template);
  }
  return template;
}
