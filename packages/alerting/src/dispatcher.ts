import { DeliveryError, type Channel } from './channels/channel';
import type { DeliveryOptions } from './config';
import { PriorityQueue } from './priority-queue';
import type { RateLimiter } from './rate-limit';
import type { Redactor } from './redact';
import type { Logger, Notification } from './types';

/** The outcome of delivering one notification to one channel. */
export interface DeliveryResult {
  channel: string;
  ok: boolean;
  /** Attempts made for the message that carried this notification. */
  attempts: number;
  /** Notifications that travelled in the same message (1 when not merged). */
  merged: number;
  /** Redacted reason of the last failure. */
  error?: string;
  /** True when the failure cannot be fixed by retrying (bad token, bad signature). */
  permanent?: boolean;
}

/** A queued notification with the caller's tag (the bridge's outbox id). */
export interface QueuedItem<M> {
  notification: Notification;
  meta: M;
}

/** Callbacks for metrics and for the bridge's outbox. */
export interface DispatcherHooks<M> {
  onRetry?(channel: string, error: string): void;
  /** Awaited before the results are handed out; the bridge marks the outbox entries done here. */
  onSettled?(items: QueuedItem<M>[], result: DeliveryResult): Promise<void> | void;
}

export interface DispatcherOptions<M> {
  delivery: DeliveryOptions;
  limiter?: RateLimiter;
  redactor: Redactor;
  log: Logger;
  hooks?: DispatcherHooks<M>;
  /** Jitter source, for tests. */
  random?: () => number;
  /**
   * Delivery order: lower numbers first (the bridge passes the severity rank, critical 0);
   * arrival order within one level. Without it, everything is delivered in arrival order.
   */
  priority?: (n: Notification) => number;
  /**
   * Rate-limit tokens only priority 0 may spend: lower priorities wait while fewer than
   * `cost + reserve` tokens are left, so a critical alert never waits for a window full of
   * warnings. Default 0.
   */
  reserve?: number;
}

/** Most notifications merged into one message, whatever their size. */
const MAX_MERGE = 200;

interface Pending<M> extends QueuedItem<M> {
  /** From the `priority` option, computed once. */
  priority: number;
  resolve(r: DeliveryResult): void;
}

/** Delay before attempt `attempt + 1`: exponential, with "equal jitter", at least Retry-After. */
export function backoffMs(
  attempt: number,
  opts: DeliveryOptions,
  random: () => number,
  retryAfterMs?: number,
): number {
  const exp = Math.min(opts.retryMaxMs, opts.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.min(opts.retryMaxMs, Math.max(jittered, retryAfterMs ?? 0));
}

/** Merges notifications into one message's worth. */
export function mergeNotifications(ns: Notification[]): Notification {
  if (ns.length === 1) return ns[0]!;
  return {
    source: [...new Set(ns.map((n) => n.source))].join(', '),
    alerts: ns.flatMap((n) => n.alerts),
    truncatedAlerts: ns.reduce((s, n) => s + n.truncatedAlerts, 0),
  };
}

/**
 * Delivers one channel's notifications in order, one message at a time: waits for the robot's
 * rate limit, retries with backoff, and merges queued notifications into one message when the
 * limit would otherwise hold them back (never dropping any itself: only {@link remove} takes a
 * queued one out). With a `priority`, the most urgent queued notification goes next.
 */
export class Dispatcher<M = undefined> {
  private readonly queue = new PriorityQueue<Pending<M>>();
  /** Wakes a wait for rate-limit tokens when something new is queued (it may outrank the head). */
  private readonly arrivals = new Set<() => void>();
  private running = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private readonly wake = new Set<() => void>();
  private readonly random: () => number;

  constructor(
    readonly channel: Channel,
    private readonly opts: DispatcherOptions<M>,
  ) {
    this.random = opts.random ?? Math.random;
  }

  /** Notifications waiting or in flight. */
  get depth(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /** Queues a notification; resolves when the message carrying it is delivered or given up. */
  enqueue(notification: Notification, meta: M): Promise<DeliveryResult> {
    if (this.closed) {
      return Promise.resolve({
        channel: this.channel.name,
        ok: false,
        attempts: 0,
        merged: 0,
        error: 'closed',
      });
    }
    return new Promise((resolve) => {
      const priority = this.opts.priority?.(notification) ?? 0;
      this.queue.push({ notification, meta, priority, resolve }, priority);
      for (const w of this.arrivals) w();
      if (!this.running) {
        this.running = true;
        this.idle = new Promise((r) => (this.markIdle = r));
        void this.run();
      }
    });
  }

  /**
   * Takes a queued (not in-flight) notification out, resolving it as not delivered with
   * `error: 'shed'`; false when it is not queued (in flight, or already delivered).
   */
  remove(meta: M): boolean {
    const p = this.queue.remove((q) => q.meta === meta);
    if (!p) return false;
    p.resolve({ channel: this.channel.name, ok: false, attempts: 0, merged: 0, error: 'shed' });
    return true;
  }

  /** The most urgent priority in a batch. */
  private static priorityOf<M>(batch: Pending<M>[]): number {
    let p = Infinity;
    for (const item of batch) p = Math.min(p, item.priority);
    return p;
  }

  /** Tokens a message of this priority needs left in the window before it may be sent. */
  private tokensNeeded(priority: number): number {
    return this.cost + (priority > 0 ? (this.opts.reserve ?? 0) : 0);
  }

  /** Resolves when nothing is queued or in flight. */
  drained(): Promise<void> {
    return this.running ? this.idle : Promise.resolve();
  }

  /**
   * Stops: waits and retries are cut short, and queued notifications resolve as not delivered
   * (the bridge keeps them in its outbox for the next start).
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.wake) w();
    await this.drained();
    this.channel.close?.();
  }

  /** Sleeps `ms`, cut short by close() and, when `onArrival`, by a newly queued notification. */
  private sleep(ms: number, onArrival = false): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        this.arrivals.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
      if (onArrival) this.arrivals.add(done);
    });
  }

  private get cost(): number {
    return this.channel.requestsPerMessage;
  }

  /**
   * Waits until the limiter has tokens for one message of `priority` (by default: of whatever
   * is first in the queue, re-checked when something new arrives); false if closed meanwhile.
   */
  private async waitForTokens(priority?: number): Promise<boolean> {
    const limiter = this.opts.limiter;
    while (!this.closed && limiter) {
      if (priority === undefined && this.queue.length === 0) break; // all shed meanwhile
      const p = priority ?? this.queue.peekPriority();
      const ms = limiter.waitMs(this.tokensNeeded(p));
      if (ms <= 0) break;
      await this.sleep(ms, priority === undefined);
    }
    return !this.closed;
  }

  /**
   * Adds queued notifications to `batch` when they should share its message: when retrying
   * (everything behind it is waiting anyway) or when this is the last token in the window.
   */
  private extend(batch: Pending<M>[], retrying: boolean): void {
    const limiter = this.opts.limiter;
    const priority = Dispatcher.priorityOf(batch);
    const lastToken =
      limiter !== undefined && limiter.available() < this.tokensNeeded(priority) + this.cost;
    if (!retrying && !lastToken) return;
    const { maxBytes } = this.channel;
    while (this.queue.length && batch.length < MAX_MERGE) {
      const candidate = [...batch, this.queue.peek()!].map((p) => p.notification);
      if (Number.isFinite(maxBytes) && this.channel.size(mergeNotifications(candidate)) > maxBytes)
        break;
      batch.push(this.queue.shift()!);
    }
  }

  private async run(): Promise<void> {
    const { delivery, log, redactor, hooks } = this.opts;
    const name = this.channel.name;
    try {
      while (this.queue.length && !this.closed) {
        // Tokens first, then the batch: whatever is most urgent once the window allows it.
        if (!(await this.waitForTokens())) break;
        const first = this.queue.shift();
        if (!first) continue; // shed while we waited
        const batch = [first];
        let result: DeliveryResult | undefined;
        let attempts = 0;
        while (!result) {
          if (attempts > 0 && !(await this.waitForTokens(Dispatcher.priorityOf(batch)))) break;
          this.extend(batch, attempts > 0);
          // Counted at once; sent once recorded, so a crash cannot forget a send.
          await this.opts.limiter?.take(this.cost);
          attempts++;
          try {
            await this.channel.send(
              mergeNotifications(batch.map((p) => p.notification)),
              AbortSignal.timeout(delivery.timeoutMs),
            );
            result = { channel: name, ok: true, attempts, merged: batch.length };
          } catch (err) {
            const e =
              err instanceof DeliveryError
                ? err
                : new DeliveryError(String((err as Error)?.message ?? err), true);
            const error = redactor.redact(e.message);
            const gaveUp = delivery.maxAttempts !== undefined && attempts >= delivery.maxAttempts;
            if (!e.retryable || gaveUp) {
              log.error(`channel ${name}: delivery failed after ${attempts} attempt(s): ${error}`);
              result = {
                channel: name,
                ok: false,
                attempts,
                merged: batch.length,
                error,
                permanent: !e.retryable,
              };
              break;
            }
            const wait = backoffMs(attempts, delivery, this.random, e.retryAfterMs);
            log.warn(
              `channel ${name}: attempt ${attempts} failed, retrying in ${Math.round(wait)} ms: ${error}`,
            );
            hooks?.onRetry?.(name, error);
            await this.sleep(wait);
          }
        }
        if (!result) {
          // Closed while waiting: hand the batch back undelivered.
          for (const p of batch)
            p.resolve({ channel: name, ok: false, attempts, merged: 0, error: 'closed' });
          break;
        }
        try {
          await hooks?.onSettled?.(batch, result);
        } catch (err) {
          log.error(`channel ${name}: ${redactor.redact(String((err as Error)?.message ?? err))}`);
        }
        for (const p of batch) p.resolve(result);
      }
      if (this.closed) {
        for (const p of this.queue.drain()) {
          p.resolve({ channel: name, ok: false, attempts: 0, merged: 0, error: 'closed' });
        }
      }
    } finally {
      this.running = false;
      this.markIdle();
    }
  }
}
