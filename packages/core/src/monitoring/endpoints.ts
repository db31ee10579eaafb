import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasBearerToken } from './auth';
import { streamingScrapeOf } from '../export/exposition';
import { EXPOSITION_CONTENT_TYPES, negotiateExposition } from '../export/formats/negotiate';
import { expositionHeaders, prepend, writeExposition } from '../export/formats/respond';
import { healthStatusOnly, runHealthChecks } from './health';
import { warnRateLimited } from '../base/log';
import { state } from '../base/state';
import { collectStats } from './stats';
import { closeAfterAnswerIfBodyUnread } from './unread-body';

/** The monitoring endpoints (CONTRACT.md §6). */
export type MonitoringRoute = 'metrics' | 'health' | 'stats';

/** The methods the endpoints answer (the `Allow` header of a 405). */
export const MONITORING_METHODS = 'GET, HEAD';

/** Content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = EXPOSITION_CONTENT_TYPES.text;

/** Maps a path's last segment (`/metrics`, `/monitoring/health`) to its route. */
export function monitoringRouteOf(path: string): MonitoringRoute | undefined {
  const q = path.indexOf('?');
  const clean = q === -1 ? path : path.slice(0, q);
  if (clean.endsWith('/metrics')) return 'metrics';
  if (clean.endsWith('/health')) return 'health';
  if (clean.endsWith('/stats')) return 'stats';
  return undefined;
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  extra?: Record<string, string>,
): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...extra });
  res.end(body);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra?: Record<string, string>,
): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), extra);
}

/**
 * Answers one monitoring request: `/metrics` (bearer BIZMON_METRICS_TOKEN when set), `/health`
 * (503 when a check fails; each check's message only with bearer BIZMON_ADMIN_TOKEN) and
 * `/stats` (bearer BIZMON_ADMIN_TOKEN; 403 when none is set). Other methods than GET and HEAD
 * answer 405 with `Allow`. Never throws; a failure answers 500.
 */
export async function serveMonitoring(
  route: MonitoringRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    closeAfterAnswerIfBodyUnread(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' }, { allow: MONITORING_METHODS });
      return;
    }
    const pipeline = state.pipeline;
    if (route === 'metrics') {
      if (pipeline === undefined) {
        send(res, 503, 'text/plain; charset=utf-8', 'bizmon is not started\n');
        return;
      }
      const token = pipeline.config.metricsToken;
      if (token !== undefined && !hasBearerToken(req, token)) {
        sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
        return;
      }
      const stream = streamingScrapeOf(pipeline.scrape);
      if (stream === undefined) send(res, 200, PROMETHEUS_CONTENT_TYPE, await pipeline.scrape());
      else {
        // Format and gzip by Accept / Accept-Encoding (export/formats/negotiate.ts).
        const choice = negotiateExposition(req.headers);
        // A large exposition goes out chunk by chunk as it is built, never as one long block.
        const chunks = stream(choice.format)[Symbol.asyncIterator]();
        const first = await chunks.next(); // collect callbacks run, and may fail, before the 200
        res.writeHead(200, expositionHeaders(choice));
        await writeExposition(res, choice, prepend(first, chunks));
      }
    } else if (route === 'health') {
      const report = await runHealthChecks();
      // Check messages quote backends' errors (user names, internal hosts and ports): admins only.
      const token = pipeline?.config.adminToken;
      const detailed = token !== undefined && hasBearerToken(req, token);
      sendJson(
        res,
        report.status === 'healthy' ? 200 : 503,
        detailed ? report : healthStatusOnly(report),
      );
    } else {
      const token = pipeline?.config.adminToken;
      if (token === undefined) {
        sendJson(res, 403, { error: 'forbidden: BIZMON_ADMIN_TOKEN is not configured' });
        return;
      }
      if (!hasBearerToken(req, token)) {
        sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
        return;
      }
      sendJson(res, 200, collectStats());
    }
  } catch (err) {
    warnRateLimited(
      'monitoring',
      `the ${route} endpoint failed: ${(err as Error)?.message ?? String(err)}`,
    );
    if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
    else res.destroy();
  }
}
