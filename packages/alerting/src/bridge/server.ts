import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Channel } from '../channels/channel';
import { createChannel } from '../channels';
import { formatIssues } from '../config';
import { Dispatcher } from '../dispatcher';
import { RateLimiters } from '../rate-limit';
import { truncateUtf8 } from '../template';
import { Redactor, stderrLogger } from '../redact';
import type { Logger, Notification } from '../types';
import { WebhookAuth } from './auth';
import { boundAlert, boundStored } from './bound';
import { limitsSchema, parseListen, routeAlert, type BridgeConfig } from './config';
import { HttpError, pathOf, readBody, sendJson } from './http';
import { DataDirLock } from './lock';
import { BridgeMetrics } from './metrics';
import { Outbox, type OutboxEntry } from './outbox';
import { RateLimitFile } from './rate-limit-file';
import { alertmanagerPayloadSchema, fromAlertmanager, type AlertmanagerPayload } from './payload';
import { notificationRank, SEVERITY_RANKS, severityRank } from './severity';
import { Semaphore } from './semaphore';
import { ThrottledLog } from './throttled-log';

/** Largest accepted webhook body by default (`limits.maxBodyBytes`). */
export const MAX_BODY_BYTES = limitsSchema.parse({}).maxBodyBytes;

/** Slow clients: a request must be complete within this time (Node answers 408 otherwise). */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;
/** Longest error message in an answer or a log line. */
const MAX_ERROR_BYTES = 1024;
/** Sockets held at once; posts waiting for a body slot hold one each. */
const MAX_CONNECTIONS = 1024;

/**
 * Rate-limit tokens kept for critical alerts: a tenth of a robot's window (2 of DingTalk's 20 a
 * minute), none for limits under 10 messages.
 */
function criticalReserve(messages: number | undefined): number {
  return messages !== undefined && messages >= 10 ? Math.ceil(messages / 10) : 0;
}

/**
 * The Alertmanager webhook bridge: accepts payloads into the durable, bounded outbox, then
 * delivers each notification to its channels under their rate limits, most severe first,
 * retrying until delivered.
 */
export class Bridge {
  private readonly log: Logger;
  private readonly redactor: Redactor;
  private readonly outbox: Outbox;
  private readonly lock: DataDirLock;
  private readonly auth?: WebhookAuth;
  private readonly dispatchers = new Map<string, Dispatcher<OutboxEntry>>();
  private readonly metrics: BridgeMetrics;
  private readonly throttled = new ThrottledLog();
  private server?: http.Server;
  private draining = false;
  /** Bounds the bodies read at once (memory); further posts wait, their bytes left in the socket. */
  private readonly bodySlots: Semaphore;

  constructor(
    private readonly config: BridgeConfig,
    logger: Logger = stderrLogger,
  ) {
    const authSecrets = [config.auth?.bearerToken, config.auth?.basicAuth?.password].filter(
      (s): s is string => s !== undefined,
    );
    this.redactor = Redactor.forChannels(Object.values(config.channels), authSecrets);
    this.log = this.redactor.wrap(logger);
    if (config.auth) this.auth = new WebhookAuth(config.auth);
    this.outbox = new Outbox(config.dataDir, this.log);
    this.lock = new DataDirLock(config.dataDir);
    this.bodySlots = new Semaphore(config.limits.maxConcurrentPosts);
    this.metrics = new BridgeMetrics(
      Object.keys(config.channels),
      () => this.outbox.depth,
      () => this.outbox.bytes,
      SEVERITY_RANKS,
    );
    const limiters = new RateLimiters(Date.now, new RateLimitFile(config.dataDir, this.log));
    const render = { language: config.language, timeZone: config.timeZone };
    for (const [name, c] of Object.entries(config.channels)) {
      const channel: Channel = createChannel(name, c, {
        render,
        timeoutMs: config.delivery.timeoutMs,
        log: this.log,
      });
      this.dispatchers.set(
        name,
        new Dispatcher<OutboxEntry>(channel, {
          delivery: config.delivery,
          limiter: limiters.get(channel.rateKey, channel.rateLimit),
          redactor: this.redactor,
          log: this.log,
          priority: notificationRank,
          reserve: criticalReserve(channel.rateLimit?.messages),
          hooks: {
            onRetry: (ch) => this.metrics.retried.inc({ channel: ch }),
            onSettled: async (items, result) => {
              const ids = items.map((i) => i.meta.id);
              if (result.ok) {
                await this.outbox.markDone(ids);
                this.metrics.sent.inc({ channel: name }, ids.length);
                this.metrics.messages.inc({ channel: name });
                const now = Date.now();
                for (const i of items)
                  this.metrics.latency.observe({ channel: name }, (now - i.meta.createdAt) / 1000);
              } else {
                await this.outbox.markFailed(ids);
                this.metrics.failed.inc({ channel: name }, ids.length);
                this.log.error(
                  `channel ${name}: ${ids.length} notification(s) moved to failed/: ${result.error ?? ''}`,
                );
              }
            },
          },
        }),
      );
    }
  }

  /** The metrics registry (for embedding the bridge in another process). */
  get registry() {
    return this.metrics.registry;
  }

  /**
   * Locks the data folder (one bridge per outbox), resumes the outbox, then listens. Resolves
   * with the bound address; rejects with {@link DataDirLockedError} when another bridge holds it.
   */
  async start(): Promise<{ host: string; port: number }> {
    mkdirSync(this.config.dataDir, { recursive: true });
    this.lock.acquire();
    try {
      await this.resume();
      return await this.listen();
    } catch (err) {
      this.lock.release();
      throw err;
    }
  }

  private async resume(): Promise<void> {
    const { limits, language } = this.config;
    const pending = await this.outbox.recover((n) => boundStored(n, limits, language));
    if (pending.length) this.log.info(`outbox: resuming ${pending.length} pending notification(s)`);
    // An outbox written under larger limits (or by an older version) is brought within bounds.
    const over = this.makeRoom(0, 0, -1, true) ?? [];
    if (over.length) {
      await this.outbox.discard(over.map((e) => e.id));
      this.log.warn(
        `outbox: over limits.maxOutboxBytes/maxOutboxEntries on start; shed ${over.length} notification(s), lowest severity first`,
      );
    }
    const shed = new Set(over.map((e) => e.id));
    const orphans: string[] = [];
    for (const e of pending) {
      if (shed.has(e.id)) continue;
      if (this.dispatchers.has(e.channel)) this.dispatch(e);
      else orphans.push(e.id);
    }
    if (orphans.length) {
      this.log.error(
        `outbox: ${orphans.length} notification(s) for channels no longer configured moved to failed/`,
      );
      await this.outbox.markFailed(orphans);
    }
  }

  private async listen(): Promise<{ host: string; port: number }> {
    const { host, port } = parseListen(this.config.listen);
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.maxConnections = MAX_CONNECTIONS;
    // CONNECT never reaches the request handler; without an answer Node just drops the socket.
    server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
      socket.on('error', () => undefined);
      socket.end(
        'HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST\r\n' +
          'Content-Length: 0\r\nConnection: close\r\n\r\n',
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    this.log.info(`listening on http://${addr.address}:${addr.port}`);
    return { host: addr.address, port: addr.port };
  }

  /**
   * Stops accepting, waits up to `drainTimeoutMs` for queued deliveries, then stops; whatever is
   * left stays in the outbox for the next start.
   */
  async stop(drainTimeoutMs = this.config.drainTimeoutMs): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.dispatchers.values()].map((d) => d.drained())),
      new Promise((r) => (timer = setTimeout(r, drainTimeoutMs))),
    ]);
    clearTimeout(timer);
    await Promise.all([...this.dispatchers.values()].map((d) => d.close()));
    this.server?.closeAllConnections();
    await closed;
    this.throttled.flush();
    this.lock.release();
    this.log.info(`stopped; ${this.outbox.depth} notification(s) left in the outbox`);
  }

  private dispatch(e: OutboxEntry): void {
    void this.dispatchers.get(e.channel)!.enqueue(e.notification, e);
  }

  /** Answers every request; never rejects for a request's sake (a bad one cannot stop the bridge). */
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    const isAlerts = path === '/alerts';
    try {
      if (path === '/health' || path === '/metrics') {
        if (req.method !== 'GET' && req.method !== 'HEAD')
          throw new HttpError(405, 'use GET', { allow: 'GET, HEAD' });
        if (path === '/health') {
          const status = this.draining ? 'draining' : 'ok';
          return sendJson(res, this.draining ? 503 : 200, {
            status,
            outboxDepth: this.outbox.depth,
          });
        }
        const body = await this.metrics.registry.metrics();
        res
          .writeHead(200, { 'content-type': this.metrics.registry.contentType })
          .end(this.redactor.redact(body));
        return;
      }
      if (!isAlerts) throw new HttpError(404, 'not found');
      if (req.method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' });
      const accepted = await this.accept(req);
      this.metrics.requests.inc({ code: '200' });
      return sendJson(res, 200, { status: 'accepted', notifications: accepted });
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      // Bounded: a payload with thousands of bad fields would otherwise echo them all.
      const message = this.redactor.redact(
        truncateUtf8(err instanceof Error ? err.message : String(err), MAX_ERROR_BYTES, 'en'),
      );
      if (isAlerts) {
        this.metrics.requests.inc({ code: String(status) });
        // Rate-limited: whoever can reach the port must not be able to flood the log.
        const level = status === 500 ? 'error' : 'warn';
        this.throttled.note(`alerts-${status}`, 1, (n) =>
          this.log[level](
            `POST /alerts ${status === 500 ? 'failed' : `rejected (${status})`}: ${message}` +
              (n > 1 ? ` (and ${n - 1} more like it in the last minute)` : ''),
          ),
        );
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const headers = err instanceof HttpError ? { ...err.headers } : {};
      // A body we did not read (refused before reading it): close rather than read it all to
      // keep the connection, so a client cannot hold the socket by sending slowly.
      if (!req.complete) headers.connection = 'close';
      sendJson(res, status, { status: 'error', error: message }, headers);
    }
  }

  /** Checks, validates, bounds, routes and durably stores a payload; returns the number of notifications stored. */
  private async accept(req: http.IncomingMessage): Promise<number> {
    if (this.draining) throw new HttpError(503, 'shutting down', { 'retry-after': '5' });
    if (this.auth && !this.auth.check(req.headers.authorization)) {
      throw new HttpError(401, 'missing or wrong credentials', {
        'www-authenticate': this.auth.challenge,
      });
    }
    const { limits } = this.config;
    await this.bodySlots.acquire();
    try {
      const raw = await readBody(req, limits.maxBodyBytes);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new HttpError(400, 'body is not JSON');
      }
      const parsed = alertmanagerPayloadSchema.safeParse(body);
      if (!parsed.success) {
        throw new HttpError(
          400,
          `not an Alertmanager webhook payload (version 4): ${formatIssues(parsed.error)}`,
        );
      }
      const items = this.notifications(parsed.data);
      if (!items.length) return 0;
      return await this.store(items);
    } finally {
      this.bodySlots.release();
    }
  }

  /** Writes notifications into the outbox, shedding less severe ones if it is full. */
  private async store(
    items: Array<{ channel: string; notification: Notification }>,
  ): Promise<number> {
    const prepared = this.outbox.prepare(items);
    const rank = Math.min(...items.map((i) => notificationRank(i.notification)));
    const shed = this.makeRoom(prepared.bytes, prepared.entries.length, rank);
    if (shed === undefined) {
      throw new HttpError(503, 'outbox full of notifications at least as severe', {
        'retry-after': '30',
      });
    }
    if (shed.length) await this.outbox.discard(shed.map((e) => e.id));
    const entries = await this.outbox.write(prepared);
    for (const e of entries) {
      this.metrics.received.inc({ channel: e.channel });
      this.dispatch(e);
    }
    return entries.length;
  }

  /**
   * Makes room for `bytes` in `count` new entries by shedding queued entries of a severity
   * below `rank`, lowest first and oldest first. Returns what was shed (already removed from
   * the queues and the accounting; the caller deletes the files), or undefined if that cannot
   * make room (nothing is shed then, unless entries being sent made the estimate wrong).
   * `startup`: nothing is queued yet, so every entry may go.
   */
  private makeRoom(
    bytes: number,
    count: number,
    rank: number,
    startup = false,
  ): OutboxEntry[] | undefined {
    const { maxOutboxBytes, maxOutboxEntries } = this.config.limits;
    let overBytes = this.outbox.bytes + bytes - maxOutboxBytes;
    let overCount = this.outbox.depth + count - maxOutboxEntries;
    if (overBytes <= 0 && overCount <= 0) return [];
    const candidates = this.outbox.sheddable(rank);
    const availableBytes = candidates.reduce((s, c) => s + c.bytes, 0);
    if (availableBytes < overBytes || candidates.length < overCount) return undefined;
    const shed: OutboxEntry[] = [];
    for (const c of candidates) {
      if (overBytes <= 0 && overCount <= 0) break;
      // Only what is still queued: an entry being sent, or still being written, stays.
      if (!startup && this.dispatchers.get(c.entry.channel)?.remove(c.entry) !== true) continue;
      shed.push(c.entry);
      overBytes -= c.bytes;
      overCount -= 1;
      this.metrics.shed.inc({ channel: c.entry.channel, severity: SEVERITY_RANKS[c.rank]! });
    }
    this.outbox.forget(shed.map((e) => e.id));
    if (shed.length) {
      this.throttled.note('shed', shed.length, (n) =>
        this.log.warn(
          `outbox full (limits.maxOutboxBytes ${maxOutboxBytes}, maxOutboxEntries ${maxOutboxEntries}): ` +
            `shed ${n} notification(s) in the last minute, lowest severity first, to make room for more severe ones`,
        ),
      );
    }
    return overBytes <= 0 && overCount <= 0 ? shed : undefined;
  }

  /** One notification per target channel, holding the payload's alerts routed there, each bounded. */
  private notifications(
    p: AlertmanagerPayload,
  ): Array<{ channel: string; notification: Notification }> {
    const byChannel = new Map<string, Notification>();
    const { maxAlertsPerPost } = this.config.limits;
    let alerts = p.alerts;
    let truncatedAlerts = p.truncatedAlerts;
    if (alerts.length > maxAlertsPerPost) {
      // Stable sort: most severe first, in payload order within a severity.
      alerts = [...alerts]
        .sort((a, b) => severityRank(a.labels.severity) - severityRank(b.labels.severity))
        .slice(0, maxAlertsPerPost);
      truncatedAlerts += p.alerts.length - maxAlertsPerPost;
    }
    for (const original of alerts) {
      const { alert: a, cut } = boundAlert(original, this.config.limits, this.config.language);
      if (cut) this.metrics.truncated.inc();
      const item = fromAlertmanager(a);
      for (const channel of routeAlert(this.config.routes, a.labels)) {
        let n = byChannel.get(channel);
        if (!n) {
          n = { source: this.config.source, alerts: [], truncatedAlerts };
          byChannel.set(channel, n);
        }
        n.alerts.push(item);
      }
    }
    return [...byChannel].map(([channel, notification]) => ({ channel, notification }));
  }
}
