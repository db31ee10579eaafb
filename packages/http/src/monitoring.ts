import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveMonitoring, warnRateLimited, type MonitoringRoute } from '@bizmon/core/internal';
import { ignoreRequest } from './recorder';

/** Options of createMonitoringHandler. */
export interface MonitoringHandlerOptions {
  /** Path prefix of the endpoints. Default `/monitoring` (`/monitoring/metrics|health|stats`). */
  prefix?: string;
}

/** The parts of a Koa context the handler uses. */
export interface KoaContextLike {
  path: string;
  req: IncomingMessage;
  res: ServerResponse;
  respond?: boolean;
}

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyInstanceLike {
  route(options: {
    method: string | string[];
    url: string;
    handler: (
      request: { raw: IncomingMessage },
      reply: { raw: ServerResponse; hijack(): void },
    ) => Promise<void>;
  }): unknown;
}

/**
 * The monitoring endpoints (`<prefix>/metrics`, `/health`, `/stats`, CONTRACT.md §6) for an
 * app's own server. Call it as a node:http handler or Express/Connect middleware: it answers a
 * monitoring path and returns true, else returns false (and calls `next` when given). Use
 * `.koa` as Koa middleware and `.fastify` as a Fastify plugin. Requests it answers are not
 * counted in the HTTP metrics.
 */
export interface MonitoringHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): boolean;
  /** Koa middleware: `app.use(monitoring.koa)`. */
  readonly koa: (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown>;
  /** Fastify plugin: `fastify.register(monitoring.fastify)`. */
  readonly fastify: (
    instance: FastifyInstanceLike,
    options: unknown,
    done: (err?: Error) => void,
  ) => void;
  /** The endpoint a path (query ignored) names, if any. */
  routeOf(path: string): MonitoringRoute | undefined;
  /** The prefix in use, without a trailing slash. */
  readonly prefix: string;
}

const ROUTES: readonly MonitoringRoute[] = ['metrics', 'health', 'stats'];
/**
 * Fastify routes by method: registered for GET alone, other methods would get Fastify's 404.
 * With these the endpoints answer them 405 with `Allow` as everywhere else; Fastify adds HEAD
 * for the GET route itself.
 */
const FASTIFY_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

function serve(route: MonitoringRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  ignoreRequest(req);
  return serveMonitoring(route, req, res).catch((err: unknown) => {
    warnRateLimited(
      'http-monitoring',
      `the monitoring handler failed: ${(err as Error)?.message ?? String(err)}`,
    );
  });
}

/** Creates the app-mountable monitoring handler (see MonitoringHandler). */
export function createMonitoringHandler(options: MonitoringHandlerOptions = {}): MonitoringHandler {
  let prefix = typeof options.prefix === 'string' ? options.prefix.trim() : '/monitoring';
  if (prefix.length > 0 && !prefix.startsWith('/')) prefix = `/${prefix}`;
  while (prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  const paths = new Map<string, MonitoringRoute>(ROUTES.map((r) => [`${prefix}/${r}`, r]));

  function routeOf(path: string): MonitoringRoute | undefined {
    if (typeof path !== 'string') return undefined;
    const q = path.indexOf('?');
    return paths.get(q === -1 ? path : path.slice(0, q));
  }

  const handler = ((
    req: IncomingMessage,
    res: ServerResponse,
    next?: (err?: unknown) => void,
  ): boolean => {
    // Express strips a mount path from req.url; originalUrl keeps it.
    const route = routeOf((req as { originalUrl?: string }).originalUrl ?? req.url ?? '');
    if (route === undefined) {
      if (typeof next === 'function') next();
      return false;
    }
    void serve(route, req, res);
    return true;
  }) as MonitoringHandler & { koa: unknown; fastify: unknown; routeOf: unknown; prefix: unknown };

  handler.koa = async (ctx: KoaContextLike, next: () => Promise<unknown>): Promise<unknown> => {
    const route = routeOf(ctx.path);
    if (route === undefined) return next();
    // Koa must not write a response of its own after ours.
    ctx.respond = false;
    return serve(route, ctx.req, ctx.res);
  };

  const plugin = (
    instance: FastifyInstanceLike,
    _options: unknown,
    done: (err?: Error) => void,
  ): void => {
    try {
      for (const route of ROUTES) {
        instance.route({
          method: FASTIFY_METHODS,
          url: `${prefix}/${route}`,
          handler: (request, reply) => {
            reply.hijack();
            return serve(route, request.raw, reply.raw);
          },
        });
      }
      done();
    } catch (err) {
      done(err as Error);
    }
  };
  // Routes registered outside an encapsulated context, like fastify-plugin does.
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  handler.fastify = plugin;
  handler.routeOf = routeOf;
  handler.prefix = prefix;
  return handler as MonitoringHandler;
}
