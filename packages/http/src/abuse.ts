import type { LRUCache } from 'lru-cache';

/** lru-cache, required with the first cache: a process that serves no request never loads it. */
function lruCache<V extends object>(max: number): LRUCache<string, V> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LRUCache: Cache } = require('lru-cache') as typeof import('lru-cache');
  return new Cache<string, V>({ max });
}
import {
  API_ABUSE_SEVERITY,
  recordApiAbuse,
  recordSuspiciousAccess,
  warnRateLimited,
} from '@bizmon/core/internal';

/** Thresholds of the abuse detectors. Every threshold is "more than N within the window". */
export interface AbuseDetectionConfig {
  /** Turns all detectors off. Default true (on). */
  enabled: boolean;
  /**
   * Most clients (and, separately, login-failure sources) tracked at once; the least recently
   * seen are forgotten first. Bounds memory whatever the number of distinct clients.
   * Default 50,000.
   */
  maxClients: number;
  /** API abuse: more than `maxRequests` requests from one client within `windowMs`. Default 600 a minute. */
  apiAbuse: { maxRequests: number; windowMs: number };
  /** Scanning: more than `maxErrors` answers with one of `statuses` to one client within `windowMs`. Default 30 a minute of 401/403/404. */
  scanning: { maxErrors: number; windowMs: number; statuses: readonly number[] };
  /** Credential stuffing: login failures for more than `maxUsernames` distinct usernames from one IP within `windowMs`. Default 10 in 10 minutes. */
  credentialStuffing: { maxUsernames: number; windowMs: number };
}

/** Partial configuration, merged over the current one. */
export interface AbuseDetectionOptions {
  enabled?: boolean;
  maxClients?: number;
  apiAbuse?: Partial<AbuseDetectionConfig['apiAbuse']>;
  scanning?: Partial<AbuseDetectionConfig['scanning']>;
  credentialStuffing?: Partial<AbuseDetectionConfig['credentialStuffing']>;
}

/** Defaults (see each field of AbuseDetectionConfig). */
export const DEFAULT_ABUSE_DETECTION: Readonly<AbuseDetectionConfig> = Object.freeze({
  enabled: true,
  maxClients: 50_000,
  apiAbuse: Object.freeze({ maxRequests: 600, windowMs: 60_000 }),
  scanning: Object.freeze({
    maxErrors: 30,
    windowMs: 60_000,
    statuses: Object.freeze([401, 403, 404]),
  }),
  credentialStuffing: Object.freeze({ maxUsernames: 10, windowMs: 600_000 }),
});

/** One detection, as `onDetect` listeners receive it. */
export interface AbuseDetection {
  /** `api_abuse` (rule `request_rate`), `scanning` or `credential_stuffing` (patterns). */
  kind: 'api_abuse' | 'scanning' | 'credential_stuffing';
  /** The client: `user:<id>` or `ip:<address>` (never a label; for the app's own reaction). */
  client: string;
  /** The sliding-window estimate that crossed the threshold. */
  observed: number;
  threshold: number;
  windowMs: number;
}

/**
 * A sliding-window counter in four numbers: the count of the current fixed window plus the
 * previous window's count weighted by how much of it still overlaps the sliding window (the
 * approximation rate limiters such as Cloudflare's use). Exact at the window's start.
 */
class SlidingWindow {
  start = 0;
  current = 0;
  previous = 0;
  firedAt = Number.NEGATIVE_INFINITY;

  add(now: number, windowMs: number): number {
    const elapsed = now - this.start;
    if (elapsed >= windowMs) {
      const windows = Math.floor(elapsed / windowMs);
      this.previous = windows === 1 ? this.current : 0;
      this.current = 0;
      this.start += windows * windowMs;
    }
    this.current += 1;
    return this.current + this.previous * (1 - (now - this.start) / windowMs);
  }

  /** Whether to report: over the threshold and not reported within the last window. */
  shouldFire(estimate: number, threshold: number, now: number, windowMs: number): boolean {
    if (estimate <= threshold || now - this.firedAt < windowMs) return false;
    this.firedAt = now;
    return true;
  }
}

class ClientWindows {
  readonly requests = new SlidingWindow();
  readonly errors = new SlidingWindow();
  constructor(now: number) {
    this.requests.start = now;
    this.errors.start = now;
  }
}

/** Distinct usernames (as 32-bit hashes, never stored in clear) seen failing from one IP. */
class LoginFailures {
  hashes: number[] = [];
  times: number[] = [];
  firedAt = Number.NEGATIVE_INFINITY;

  /** Records one failure and returns the distinct usernames within the window. */
  add(hash: number, now: number, windowMs: number, keep: number): number {
    let drop = 0;
    while (drop < this.times.length && now - this.times[drop]! >= windowMs) drop++;
    if (drop > 0) {
      this.hashes.splice(0, drop);
      this.times.splice(0, drop);
    }
    const at = this.hashes.indexOf(hash);
    if (at !== -1) {
      this.hashes.splice(at, 1);
      this.times.splice(at, 1);
    }
    this.hashes.push(hash);
    this.times.push(now);
    // Beyond threshold+1 the exact count no longer matters; this bounds each entry.
    if (this.hashes.length > keep) {
      this.hashes.shift();
      this.times.shift();
    }
    return this.hashes.length;
  }
}

/** FNV-1a, 32 bits: usernames are counted, not kept. */
function hashUsername(username: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < username.length; i++) {
    h ^= username.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function merge(base: AbuseDetectionConfig, options: AbuseDetectionOptions): AbuseDetectionConfig {
  const statuses = options.scanning?.statuses;
  return {
    enabled: typeof options.enabled === 'boolean' ? options.enabled : base.enabled,
    maxClients: Math.floor(positive(options.maxClients, base.maxClients)),
    apiAbuse: {
      maxRequests: positive(options.apiAbuse?.maxRequests, base.apiAbuse.maxRequests),
      windowMs: positive(options.apiAbuse?.windowMs, base.apiAbuse.windowMs),
    },
    scanning: {
      maxErrors: positive(options.scanning?.maxErrors, base.scanning.maxErrors),
      windowMs: positive(options.scanning?.windowMs, base.scanning.windowMs),
      statuses: Array.isArray(statuses)
        ? statuses.filter((s) => Number.isInteger(s))
        : base.scanning.statuses,
    },
    credentialStuffing: {
      maxUsernames: Math.floor(
        positive(options.credentialStuffing?.maxUsernames, base.credentialStuffing.maxUsernames),
      ),
      windowMs: positive(options.credentialStuffing?.windowMs, base.credentialStuffing.windowMs),
    },
  };
}

/**
 * Per-client abuse detection with bounded memory: API abuse (request rate), scanning (many
 * 401/403/404) and credential stuffing (login failures for many usernames from one IP). Each
 * fires at most once per client per window and records `api_abuse_detected_total{rule}` or
 * `suspicious_access_patterns_total{pattern}` plus `security_events_total`. Clients live in an
 * LRU of `maxClients` entries, so a flood of distinct addresses costs a fixed amount of memory
 * (at the price of forgetting the least recently seen clients). Never throws.
 */
export class AbuseDetector {
  private config: AbuseDetectionConfig;
  // Created on first use: an LRUCache allocates its index arrays for `max` entries up front
  // (about 3 ms and 1 MiB each at 50,000), which every preloaded process would pay at start.
  private clientsCache: LRUCache<string, ClientWindows> | undefined;
  private loginsCache: LRUCache<string, LoginFailures> | undefined;
  private readonly listeners = new Set<(detection: AbuseDetection) => void>();

  constructor(options: AbuseDetectionOptions = {}) {
    this.config = merge(DEFAULT_ABUSE_DETECTION, options);
  }

  private get clients(): LRUCache<string, ClientWindows> {
    return (this.clientsCache ??= lruCache<ClientWindows>(this.config.maxClients));
  }

  private get logins(): LRUCache<string, LoginFailures> {
    return (this.loginsCache ??= lruCache<LoginFailures>(this.config.maxClients));
  }

  /** The configuration in force. */
  get settings(): Readonly<AbuseDetectionConfig> {
    return this.config;
  }

  /** Changes thresholds (merged over the current ones). A new `maxClients` forgets every client. */
  configure(options: AbuseDetectionOptions): void {
    const next = merge(this.config, options ?? {});
    if (next.maxClients !== this.config.maxClients) {
      this.clientsCache = undefined;
      this.loginsCache = undefined;
    }
    this.config = next;
  }

  /** How many clients and login-failure sources are tracked (never more than `maxClients` each). */
  get size(): { clients: number; loginSources: number } {
    return { clients: this.clientsCache?.size ?? 0, loginSources: this.loginsCache?.size ?? 0 };
  }

  /** Forgets every client. */
  clear(): void {
    this.clientsCache?.clear();
    this.loginsCache?.clear();
  }

  /** Calls `listener` on each detection (to block or alert); returns an unsubscribe function. */
  onDetect(listener: (detection: AbuseDetection) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Counts one finished request of `client` (`user:<id>` or `ip:<address>`) answered `statusCode`. */
  observeRequest(client: string, statusCode: number, now: number = Date.now()): void {
    const config = this.config;
    if (!config.enabled) return;
    let windows = this.clients.get(client);
    if (windows === undefined) {
      windows = new ClientWindows(now);
      this.clients.set(client, windows);
    }
    const api = config.apiAbuse;
    const rate = windows.requests.add(now, api.windowMs);
    if (windows.requests.shouldFire(rate, api.maxRequests, now, api.windowMs)) {
      this.detected(
        {
          kind: 'api_abuse',
          client,
          observed: Math.round(rate),
          threshold: api.maxRequests,
          windowMs: api.windowMs,
        },
        API_ABUSE_SEVERITY,
      );
    }
    const scan = config.scanning;
    if (scan.statuses.includes(statusCode)) {
      const errors = windows.errors.add(now, scan.windowMs);
      if (windows.errors.shouldFire(errors, scan.maxErrors, now, scan.windowMs)) {
        this.detected(
          {
            kind: 'scanning',
            client,
            observed: Math.round(errors),
            threshold: scan.maxErrors,
            windowMs: scan.windowMs,
          },
          'warning',
        );
      }
    }
  }

  /**
   * Feeds one failed login (from `security.loginFailure` of @bizmon/business, or the app) to
   * credential-stuffing detection. Records no login metric itself. `username` is hashed, never
   * stored.
   */
  recordLoginFailure(ip: string, username: string, now: number = Date.now()): void {
    const config = this.config;
    if (
      !config.enabled ||
      typeof ip !== 'string' ||
      ip.length === 0 ||
      typeof username !== 'string'
    )
      return;
    const rule = config.credentialStuffing;
    let failures = this.logins.get(ip);
    if (failures === undefined) {
      failures = new LoginFailures();
      this.logins.set(ip, failures);
    }
    const distinct = failures.add(
      hashUsername(username.toLowerCase()),
      now,
      rule.windowMs,
      rule.maxUsernames + 1,
    );
    if (distinct > rule.maxUsernames && now - failures.firedAt >= rule.windowMs) {
      failures.firedAt = now;
      this.detected(
        {
          kind: 'credential_stuffing',
          client: `ip:${ip}`,
          observed: distinct,
          threshold: rule.maxUsernames,
          windowMs: rule.windowMs,
        },
        'critical',
      );
    }
  }

  /**
   * Counts a detection — `api_abuse_detected_total{rule="request_rate"}` for API abuse,
   * `suspicious_access_patterns_total{pattern=<kind>}` otherwise, and the matching
   * `security_events_total` — then tells the listeners.
   */
  private detected(detection: AbuseDetection, severity: string): void {
    if (detection.kind === 'api_abuse') recordApiAbuse('request_rate');
    else recordSuspiciousAccess(detection.kind, severity);
    this.emit(detection);
  }

  private emit(detection: AbuseDetection): void {
    for (const listener of this.listeners) {
      try {
        listener(detection);
      } catch (err) {
        warnRateLimited(
          'http-abuse-listener',
          `an abuse-detection listener threw: ${(err as Error)?.message ?? String(err)}`,
        );
      }
    }
  }
}

/** The process's detector, fed by every request the HTTP instrumentation sees. */
export const abuseDetector = new AbuseDetector();

/** Changes the process detector's thresholds (see AbuseDetectionConfig). */
export function configureAbuseDetection(options: AbuseDetectionOptions): void {
  abuseDetector.configure(options);
}
