import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Channel } from '../channels/channel';
import { createChannel } from '../channels';
import { formatIssues } from '../config';
import { Dispatcher } from '../dispatcher';
import { RateLimiters } from '../rate-limit';
import { Redactor, stderrLogger } from '../redact';
import type { Logger, Notification } from '../types';
import { parseListen, routeAlert, type BridgeConfig } from './config';
import { BridgeMetrics } from './metrics';
import { Outbox, type OutboxEntry } from './outbox';
import { RateLimitFile } from './rate-limit-file';
import { alertmanagerPayloadSchema, fromAlertmanager, type AlertmanagerPayload } from './payload';

/** Largest accepted webhook body. */
export const MAX_BODY_BYTES = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The Alertmanager webhook bridge: accepts payloads into the durable outbox, then delivers each
 * notification to its channels under their rate limits, retrying until delivered.
 */
export class Bridge {
  private readonly log: Logger;
  private readonly redactor: Redactor;
  private readonly outbox: Outbox;
  private readonly dispatchers = new Map<string, Dispatcher<OutboxEntry>>();
  private readonly metrics: BridgeMetrics;
  private server?: http.Server;
  private draining = false;

  constructor(
    private readonly config: BridgeConfig,
    logger: Logger = stderrLogger,
  ) {
    this.redactor = Redactor.forChannels(Object.values(config.channels));
    this.log = this.redactor.wrap(logger);
    this.outbox = new Outbox(config.dataDir, this.log);
    this.metrics = new BridgeMetrics(Object.keys(config.channels), () => this.outbox.depth);
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

  /** Resumes the outbox, then listens. Resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    const pending = await this.outbox.recover();
    if (pending.length) this.log.info(`outbox: resuming ${pending.length} pending notification(s)`);
    const orphans: string[] = [];
    for (const e of pending) {
      if (this.dispatchers.has(e.channel)) this.dispatch(e);
      else orphans.push(e.id);
    }
    if (orphans.length) {
      this.log.error(
        `outbox: ${orphans.length} notification(s) for channels no longer configured moved to failed/`,
      );
      await this.outbox.markFailed(orphans);
    }
    const { host, port } = parseListen(this.config.listen);
    const server = http.createServer((req, res) => void this.handle(req, res));
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
    this.log.info(`stopped; ${this.outbox.depth} notification(s) left in the outbox`);
  }

  private dispatch(e: OutboxEntry): void {
    void this.dispatchers.get(e.channel)!.enqueue(e.notification, e);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://bridge');
    try {
      if (url.pathname === '/health' && req.method === 'GET') {
        const status = this.draining ? 'draining' : 'ok';
        return json(res, this.draining ? 503 : 200, { status, outboxDepth: this.outbox.depth });
      }
      if (url.pathname === '/metrics' && req.method === 'GET') {
        const body = await this.metrics.registry.metrics();
        res
          .writeHead(200, { 'content-type': this.metrics.registry.contentType })
          .end(this.redactor.redact(body));
        return;
      }
      if (url.pathname === '/alerts') {
        if (req.method !== 'POST') throw new HttpError(405, 'use POST');
        const accepted = await this.accept(req);
        this.metrics.requests.inc({ code: '200' });
        return json(res, 200, { status: 'accepted', notifications: accepted });
      }
      throw new HttpError(404, 'not found');
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      const message = this.redactor.redact(err instanceof Error ? err.message : String(err));
      if (url.pathname === '/alerts') this.metrics.requests.inc({ code: String(status) });
      if (status === 500) this.log.error(`POST /alerts failed: ${message}`);
      else if (url.pathname === '/alerts')
        this.log.warn(`POST /alerts rejected (${status}): ${message}`);
      if (status === 413) res.setHeader('connection', 'close');
      json(res, status, { status: 'error', error: message });
    }
  }

  /** Validates, routes and durably stores a payload; returns the number of notifications stored. */
  private async accept(req: http.IncomingMessage): Promise<number> {
    if (this.draining) throw new HttpError(503, 'shutting down');
    const raw = await readBody(req);
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
    const entries = await this.outbox.write(items);
    for (const e of entries) {
      this.metrics.received.inc({ channel: e.channel });
      this.dispatch(e);
    }
    return entries.length;
  }

  /** One notification per target channel, holding the payload's alerts routed there. */
  private notifications(
    p: AlertmanagerPayload,
  ): Array<{ channel: string; notification: Notification }> {
    const byChannel = new Map<string, Notification>();
    for (const a of p.alerts) {
      for (const channel of routeAlert(this.config.routes, a.labels)) {
        let n = byChannel.get(channel);
        if (!n) {
          n = { source: this.config.source, alerts: [], truncatedAlerts: p.truncatedAlerts };
          byChannel.set(channel, n);
        }
        n.alerts.push(fromAlertmanager(a));
      }
    }
    return [...byChannel].map(([channel, notification]) => ({ channel, notification }));
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    req.resume();
    throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new HttpError(413, `body over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
