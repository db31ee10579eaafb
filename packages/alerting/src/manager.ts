import { z } from 'zod';
import type { Channel } from './channels/channel';
import { createChannel } from './channels';
import {
  channelConfigSchema,
  deliverySchema,
  formatIssues,
  type ChannelConfig,
  type ChannelConfigInput,
  type DeliveryOptionsInput,
} from './config';
import { Dispatcher, type DeliveryResult } from './dispatcher';
import { RateLimiters } from './rate-limit';
import { Redactor, stderrLogger } from './redact';
import type { AlertItem, Language, Logger, Severity } from './types';

/** Configuration of the in-app manager. */
export interface AlertManagerConfig {
  /** Names the system in every message (the seed's "wxiai-platform"). Default "bizmon". */
  source?: string;
  /** Channel objects; as a record the keys are the channel names, in an array `name` or the type. */
  channels: ChannelConfigInput[] | Record<string, ChannelConfigInput>;
  /** Message language, Chinese by default. */
  language?: Language;
  /** IANA zone for times in messages; the process' zone by default. */
  timeZone?: string;
  /** Timeout, backoff and attempts. Defaults: 10 s, 1 s doubling to 60 s, 4 attempts. */
  delivery?: DeliveryOptionsInput;
  /** Where to log; lines are redacted and control characters escaped first. Default: stderr. */
  logger?: Logger;
}

/** An in-app alert, as in the seed's `send_alert(alert_name, severity, message, details)`. */
export interface AlertInput {
  name: string;
  severity: Severity;
  message: string;
  /**
   * Free-form details. `description`, `runbook_url` (or `runbookUrl`) and `source_url` (or
   * `sourceUrl`) feed those parts of the message; other scalar values are shown as labels.
   */
  details?: Record<string, unknown>;
}

/** Sends alerts to every configured channel at once. */
export interface AlertManager {
  /** Channel names, in configuration order. */
  readonly channels: readonly string[];
  /** Sends to every channel concurrently; one result per channel, in configuration order. Never throws. */
  send(alert: AlertInput): Promise<DeliveryResult[]>;
  /** Stops retries and closes SMTP connections. */
  close(): Promise<void>;
}

const configSchema = z.object({
  source: z.string().min(1).default('bizmon'),
  channels: z.union([
    z.array(channelConfigSchema),
    z.record(z.string().min(1), channelConfigSchema),
  ]),
  language: z.enum(['zh', 'en']).default('zh'),
  timeZone: z.string().optional(),
  delivery: deliverySchema.default({ timeoutMs: 10_000, retryBaseMs: 1_000, retryMaxMs: 60_000 }),
});

const IN_APP_MAX_ATTEMPTS = 4;

/** Channel names for an array of channel objects: `name`, else the type (`dingtalk`, `dingtalk#2`…). */
export function nameChannels(
  channels: ChannelConfig[] | Record<string, ChannelConfig>,
): Array<[string, ChannelConfig]> {
  if (!Array.isArray(channels)) return Object.entries(channels);
  const seen = new Map<string, number>();
  return channels.map((c) => {
    const base = c.name ?? c.type;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return [n === 1 ? base : `${base}#${n}`, c];
  });
}

/** Checks that a string names a time zone Intl knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function toAlertItem(alert: AlertInput): AlertItem {
  const details = alert.details ?? {};
  const str = (...keys: string[]) => {
    for (const k of keys)
      if (typeof details[k] === 'string' && details[k]) return details[k] as string;
    return undefined;
  };
  const shown = new Set(['description', 'runbook_url', 'runbookUrl', 'source_url', 'sourceUrl']);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(details)) {
    if (shown.has(k)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      labels[k] = String(v);
  }
  return {
    name: alert.name,
    severity: alert.severity,
    status: 'firing',
    summary: alert.message,
    description: str('description'),
    labels,
    startsAt: new Date().toISOString(),
    runbookUrl: str('runbook_url', 'runbookUrl'),
    sourceUrl: str('source_url', 'sourceUrl'),
    details,
  };
}

/**
 * Creates an in-app alert manager. Throws on an invalid configuration, naming the bad fields
 * (never their values).
 */
export function createAlertManager(config: AlertManagerConfig): AlertManager {
  const parsed = configSchema.safeParse(config);
  if (!parsed.success)
    throw new Error(`invalid alert manager config: ${formatIssues(parsed.error)}`);
  const cfg = parsed.data;
  if (cfg.timeZone && !isTimeZone(cfg.timeZone))
    throw new Error(`invalid alert manager config: timeZone: unknown zone`);
  const named = nameChannels(cfg.channels);
  const redactor = Redactor.forChannels(named.map(([, c]) => c));
  const log = redactor.wrap(config.logger ?? stderrLogger);
  const delivery = {
    ...cfg.delivery,
    maxAttempts: cfg.delivery.maxAttempts ?? IN_APP_MAX_ATTEMPTS,
  };
  const limiters = new RateLimiters();
  const dispatchers = named.map(([name, c]) => {
    const channel: Channel = createChannel(name, c, {
      render: { language: cfg.language, timeZone: cfg.timeZone },
      timeoutMs: delivery.timeoutMs,
      log,
    });
    return new Dispatcher(channel, {
      delivery,
      limiter: limiters.get(channel.rateKey, channel.rateLimit),
      redactor,
      log,
    });
  });

  return {
    channels: named.map(([n]) => n),
    async send(alert: AlertInput): Promise<DeliveryResult[]> {
      const notification = { source: cfg.source, alerts: [toAlertItem(alert)], truncatedAlerts: 0 };
      return Promise.all(dispatchers.map((d) => d.enqueue(notification, undefined)));
    },
    async close(): Promise<void> {
      await Promise.all(dispatchers.map((d) => d.close()));
    },
  };
}

let current: AlertManager | undefined;

/** Creates the process-wide manager used by {@link sendBusinessAlert}, replacing (and closing) any earlier one. */
export function initAlertManager(config: AlertManagerConfig): AlertManager {
  const next = createAlertManager(config);
  const previous = current;
  current = next;
  if (previous) void previous.close();
  return next;
}

/**
 * Sends through the manager from {@link initAlertManager}. When there is none it warns and drops
 * the alert, as in the seed. Never throws.
 */
export async function sendBusinessAlert(
  name: string,
  severity: Severity,
  message: string,
  details?: Record<string, unknown>,
): Promise<DeliveryResult[]> {
  const manager = current;
  if (!manager) {
    stderrLogger.warn(`alert manager not initialised; dropping alert ${name}`);
    return [];
  }
  try {
    return await manager.send({ name, severity, message, details });
  } catch (err) {
    stderrLogger.error(`sending alert ${name} failed: ${(err as Error)?.message ?? String(err)}`);
    return [];
  }
}

/** Closes and forgets the process-wide manager (for tests and shutdown). */
export async function shutdownAlertManager(): Promise<void> {
  const m = current;
  current = undefined;
  await m?.close();
}
