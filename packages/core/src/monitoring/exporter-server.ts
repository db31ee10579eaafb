import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { BizmonConfig } from '../base/config';
import { warnRateLimited } from '../base/log';
import { MONITORING_METHODS, monitoringRouteOf, serveMonitoring } from './endpoints';

/** The exporter's own paths; anything else (absolute-form, `*`, `//metrics`) is a 404. */
const EXPORTER_PATH = /^\/(metrics|health|stats)(\?|$)/;
/** Idle keep-alive sockets close after this long at most (node's own default). */
const MAX_KEEP_ALIVE_MS = 5000;

/**
 * CONNECT never reaches a request handler: node:http hands the socket over and, with no
 * listener, drops it unanswered. The exporter answers it like any other method it does not
 * serve.
 */
function refuseConnect(_req: unknown, socket: Duplex): void {
  socket.on('error', () => {});
  socket.end(
    'HTTP/1.1 405 Method Not Allowed\r\n' +
      `Allow: ${MONITORING_METHODS}\r\n` +
      'Content-Length: 0\r\nConnection: close\r\n\r\n',
  );
}

/**
 * The exporter's HTTP server (`/metrics`, `/health`, `/stats`), hardened because it shares the
 * app's process and file descriptors: at most `exporterMaxConnections` sockets at once (more are
 * closed on arrival), and short limits for receiving a request, for idle keep-alive and for a
 * socket making no progress, so slow or silent clients cannot hold them.
 */
export function createExporterServer(config: BizmonConfig): Server {
  const timeoutMs = config.exporterTimeoutMs;
  const server = createServer(
    {
      headersTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      keepAliveTimeout: Math.min(MAX_KEEP_ALIVE_MS, timeoutMs),
      // node checks the two timeouts above on this interval (30 s by default), so they act
      // within 1.5 × timeoutMs.
      connectionsCheckingInterval: Math.min(1000, timeoutMs / 2),
    },
    (req, res) => {
      const url = req.url ?? '/';
      const route = EXPORTER_PATH.test(url) ? monitoringRouteOf(url) : undefined;
      if (route === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found: try /metrics, /health or /stats\n');
        return;
      }
      void serveMonitoring(route, req, res);
    },
  );
  server.maxConnections = config.exporterMaxConnections;
  // A socket with no progress either way (a client that never reads its answer) is closed;
  // later than the checks above, so a slow request gets its 408 rather than a silent close.
  server.setTimeout(2 * timeoutMs);
  server.on('connect', refuseConnect);
  server.on('drop', () =>
    warnRateLimited(
      'exporter-connections',
      `the metrics exporter is at its limit of ${config.exporterMaxConnections} connections ` +
        'and closed new ones (BIZMON_EXPORTER_MAX_CONNECTIONS)',
    ),
  );
  return server;
}
