import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { context } from '@opentelemetry/api';
import {
  OWN_REDIS_CONNECTION_NAME,
  reportDrop,
  warnRateLimited,
  withTimeout,
} from '@bizmon/core/internal';
import {
  ACTIVE_MINUTES,
  MAU_DAYS,
  RETENTION_PERIODS,
  ratio,
  type ActivityFigures,
  type ActivityStore,
} from './activity';
import { minuteOf, shiftDay, type Calendar } from './calendar';
import type { RedisClass } from './ioredis';

/** Options of the Redis store. */
export interface RedisActivityOptions {
  /** The app's ioredis client class (see loadIoredis). */
  Redis: RedisClass;
  url: string;
  /** Key prefix (BIZMON_REDIS_PREFIX); use a hash tag such as `{bizmon}:` on Redis Cluster. */
  prefix: string;
  calendar: Calendar;
  clock: () => number;
  /** How often buffered ids are written; default 1000 ms. */
  flushIntervalMs?: number | undefined;
  /** Most ids held while Redis is slow or down; further ids are dropped and counted. Default 50,000. */
  maxBuffered?: number | undefined;
}

const DAY_SECONDS = 86_400;
/** Day keys live long enough for MAU (30 days) and d30 cohorts, with a margin for zones. */
const DAY_KEY_TTL = 35 * DAY_SECONDS;
const MINUTE_KEY_TTL = 15 * 60;
/** Ids per PFADD/SADD/SMISMEMBER command, so one command never blocks Redis for long. */
const CHUNK = 1000;
/** Ids that trigger an early flush (still off the request path, on the next turn). */
const EARLY_FLUSH_AT = 5000;
/** Redis commands wait at most this long; a scrape must answer within core's 1 s budget. */
const COMMAND_TIMEOUT_MS = 800;

/** Ids recorded in one minute (the minute fixes both the minute key and the day key). */
interface Batch {
  minute: number;
  day: string;
  seen: Set<string>;
  registered: Set<string>;
  purchased: Set<string>;
}

/**
 * Activity shared by every instance through Redis. Calls only add the id to an in-memory
 * batch (a Set, so a user's many requests cost one entry); a timer writes batches every second
 * with PFADD into per-day and per-minute HyperLogLogs, SADD into per-day registration cohorts,
 * and SMISMEMBER against the cohorts of 1, 7 and 30 days ago for retention. Scrapes read
 * PFCOUNT over the day keys (Redis merges the HyperLogLogs) and SCARD of the cohorts.
 * Redis being down never reaches the app: writes wait in a bounded buffer, scrapes publish no
 * user figures, and the problem is logged once a minute.
 */
export class RedisActivity implements ActivityStore {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly calendar: Calendar;
  private readonly clock: () => number;
  private readonly maxBuffered: number;
  private readonly timer: NodeJS.Timeout;
  private batches: Batch[] = [];
  private current: Batch | undefined;
  private buffered = 0;
  private flushing: Promise<void> | undefined;
  private earlyFlush = false;
  private closed = false;
  private readonly suppressTracing: (typeof import('@opentelemetry/core'))['suppressTracing'];

  constructor(options: RedisActivityOptions) {
    this.prefix = options.prefix;
    this.calendar = options.calendar;
    this.clock = options.clock;
    this.maxBuffered = options.maxBuffered ?? 50_000;
    // Loaded only when Redis is configured (about 10 ms of start-up otherwise).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const otelCore = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
    this.suppressTracing = otelCore.suppressTracing;
    const redisOptions: RedisOptions = {
      // @bizmon/cache leaves this connection's commands out of the app's cache metrics.
      connectionName: OWN_REDIS_CONNECTION_NAME,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
      // Reconnect forever, backing off to 5 s: Redis coming back must resume sharing.
      retryStrategy: (times) => Math.min(times * 200, 5000),
    };
    this.client = new options.Redis(options.url, redisOptions);
    this.client.on('error', (err: NodeJS.ErrnoException) =>
      warnRateLimited(
        'business:redis',
        `user activity: Redis is unreachable (${err.code ?? err.message}); active-user figures are not published until it is back`,
      ),
    );
    // Like the exporter's server, bizmon's connection must not keep a finished app alive.
    this.client.on('connect', () => {
      try {
        this.client.stream?.unref();
      } catch {
        // A stream without unref (a custom connector) just keeps the loop alive.
      }
    });
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  private key(kind: string, bucket: string | number): string {
    return `${this.prefix}${kind}:${bucket}`;
  }

  private batchFor(now: number): Batch {
    const minute = minuteOf(now);
    let batch = this.current;
    if (batch === undefined || batch.minute !== minute) {
      if (batch !== undefined) this.batches.push(batch);
      batch = this.current = {
        minute,
        day: this.calendar.dayOf(now),
        seen: new Set(),
        registered: new Set(),
        purchased: new Set(),
      };
    }
    return batch;
  }

  private add(set: Set<string>, id: string): void {
    if (set.has(id)) return;
    if (this.buffered >= this.maxBuffered) {
      reportDrop(
        'daily_active_users',
        'invalid_value',
        `user activity buffer full (${this.maxBuffered} ids): Redis is not keeping up`,
      );
      return;
    }
    set.add(id);
    if (++this.buffered >= EARLY_FLUSH_AT && !this.earlyFlush) {
      this.earlyFlush = true;
      setImmediate(() => {
        this.earlyFlush = false;
        void this.flush();
      });
    }
  }

  seen(id: string): void {
    this.add(this.batchFor(this.clock()).seen, id);
  }

  registered(id: string): void {
    const batch = this.batchFor(this.clock());
    this.add(batch.registered, id);
    this.add(batch.seen, id);
  }

  purchased(id: string): void {
    const batch = this.batchFor(this.clock());
    this.add(batch.purchased, id);
    this.add(batch.seen, id);
  }

  /** Runs Redis commands with tracing suppressed, so bizmon's cache metrics skip them. */
  private internal<T>(fn: () => Promise<T>): Promise<T> {
    return context.with(this.suppressTracing(context.active()), fn);
  }

  /** Writes every buffered batch; one flush at a time, failed batches are kept for the next. */
  flush(): Promise<void> {
    if (this.flushing)
      return this.flushing.then(() => (this.buffered > 0 ? this.flush() : undefined));
    if (this.current === undefined && this.batches.length === 0) return Promise.resolve();
    const batches = this.batches;
    if (this.current !== undefined) batches.push(this.current);
    this.batches = [];
    this.current = undefined;
    this.flushing = this.internal(() => this.write(batches))
      .catch(() => {
        // Keep what failed, oldest first, as far as the buffer allows (PFADD/SADD are
        // idempotent, so a batch written twice does no harm).
        if (this.closed) return;
        this.batches = batches.concat(this.batches);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async write(batches: Batch[]): Promise<void> {
    if (this.client.status !== 'ready') await this.ready();
    const pipeline = this.client.pipeline();
    const membershipChecks: { batch: Batch; ids: string[]; period: string }[] = [];
    for (const batch of batches) {
      const dayKey = this.key('dau', batch.day);
      const minuteKey = this.key('active', batch.minute);
      const seen = [...batch.seen];
      for (let i = 0; i < seen.length; i += CHUNK) {
        const ids = seen.slice(i, i + CHUNK);
        pipeline.pfadd(dayKey, ...ids).pfadd(minuteKey, ...ids);
        for (const [period, age] of RETENTION_PERIODS) {
          pipeline.smismember(this.key('reg', shiftDay(batch.day, -age)), ...ids);
          membershipChecks.push({ batch, ids, period });
        }
      }
      if (seen.length > 0) pipeline.expire(dayKey, DAY_KEY_TTL).expire(minuteKey, MINUTE_KEY_TTL);
      if (batch.registered.size > 0) {
        const regKey = this.key('reg', batch.day);
        const registered = [...batch.registered];
        for (let i = 0; i < registered.length; i += CHUNK)
          pipeline.sadd(regKey, ...registered.slice(i, i + CHUNK));
        pipeline.expire(regKey, DAY_KEY_TTL);
      }
      if (batch.purchased.size > 0) {
        const buyersKey = this.key('buyers', batch.day);
        pipeline.pfadd(buyersKey, ...batch.purchased).expire(buyersKey, 2 * DAY_SECONDS);
      }
    }
    const results = await pipeline.exec();
    if (results === null) throw new Error('pipeline discarded');
    const failed = results.find(([err]) => err !== null);
    if (failed) throw failed[0];
    // SMISMEMBER replies, in order, follow each chunk's two PFADDs.
    const memberships = results
      .map(([, reply]) => reply)
      .filter((reply): reply is number[] => Array.isArray(reply));
    const retained = this.client.pipeline();
    let writes = 0;
    membershipChecks.forEach(({ batch, ids, period }, n) => {
      const flags = memberships[n] ?? [];
      const members = ids.filter((_, i) => flags[i] === 1);
      if (members.length === 0) return;
      const key = this.key(`retained:${period}`, batch.day);
      retained.sadd(key, ...members).expire(key, 2 * DAY_SECONDS);
      writes++;
    });
    if (writes > 0) {
      const replies = await retained.exec();
      const error = replies?.find(([err]) => err !== null);
      if (error) throw error[0];
    }
    for (const batch of batches)
      this.buffered -= batch.seen.size + batch.registered.size + batch.purchased.size;
    if (this.buffered < 0) this.buffered = 0;
  }

  private ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error(`Redis not ready (${this.client.status})`));
      }, COMMAND_TIMEOUT_MS);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  async figures(): Promise<ActivityFigures | undefined> {
    // Unreachable Redis: answer at once (no sample) rather than stall the scrape.
    if (this.client.status !== 'ready') return undefined;
    try {
      await this.flush();
      return await this.internal(() => this.read());
    } catch (err) {
      warnRateLimited(
        'business:redis-read',
        `user activity: could not read figures from Redis (${(err as Error).message}); publishing none`,
      );
      return undefined;
    }
  }

  private async read(): Promise<ActivityFigures | undefined> {
    if (this.client.status !== 'ready') return undefined;
    const now = this.clock();
    const today = this.calendar.dayOf(now);
    const minute = minuteOf(now);
    const monthKeys: string[] = [];
    for (let i = 0; i < MAU_DAYS; i++) monthKeys.push(this.key('dau', shiftDay(today, -i)));
    const minuteKeys: string[] = [];
    for (let i = 0; i < ACTIVE_MINUTES; i++) minuteKeys.push(this.key('active', minute - i));
    const pipeline = this.client
      .pipeline()
      .pfcount(this.key('dau', today))
      .pfcount(...monthKeys)
      .pfcount(...minuteKeys)
      .pfcount(this.key('buyers', today));
    for (const [period, age] of RETENTION_PERIODS) {
      pipeline
        .scard(this.key('reg', shiftDay(today, -age)))
        .scard(this.key(`retained:${period}`, today));
    }
    const results = await pipeline.exec();
    if (results === null) return undefined;
    const numbers: number[] = [];
    for (const [err, reply] of results) {
      if (err) throw err;
      numbers.push(Number(reply));
    }
    const [daily, monthly, active, buyers] = numbers as [number, number, number, number];
    const retention = {} as ActivityFigures['retention'];
    RETENTION_PERIODS.forEach(([period], i) => {
      retention[period] = ratio(numbers[5 + 2 * i]!, numbers[4 + 2 * i]!);
    });
    return { daily, monthly, active, conversion: ratio(buyers, daily), retention };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    // A QUIT that fails or hangs still ends in the disconnect below.
    await withTimeout(() => this.client.quit(), COMMAND_TIMEOUT_MS, 'QUIT').catch(() => undefined);
    this.client.disconnect();
  }
}
