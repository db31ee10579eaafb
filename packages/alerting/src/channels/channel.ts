import { renderNotification, type RenderOptions } from '../template';
import type { Notification } from '../types';

/** The kinds of channel we deliver to. */
export type ChannelType = 'email' | 'webhook' | 'dingtalk' | 'wecom' | 'feishu';

/** At most `messages` messages in any window of `perMs` milliseconds. */
export interface RateLimit {
  messages: number;
  perMs: number;
}

/** One delivery target. `send` makes one attempt; retries, rate limits and merging live in the dispatcher. */
export interface Channel {
  readonly name: string;
  readonly type: ChannelType;
  /**
   * Identity of the robot whose rate limit this channel draws from; channels pointing to the
   * same robot share one limit. Holds the robot URL, so it is never logged.
   */
  readonly rateKey: string;
  readonly rateLimit?: RateLimit;
  /** Largest rendered message (UTF-8 bytes) the target takes; merging stops before it. */
  readonly maxBytes: number;
  /** Requests one `send` makes (a WeChat Work mention costs a second message). */
  readonly requestsPerMessage: number;
  /** Rendered size of a notification in bytes, to decide how many alerts fit one message. */
  size(n: Notification): number;
  /** Sends one message; throws {@link DeliveryError} on failure. */
  send(n: Notification, signal: AbortSignal): Promise<void>;
  /** Releases connections (SMTP pools). */
  close?(): void;
}

/** A failed attempt, saying whether another attempt could succeed. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** True for network errors, timeouts, 5xx, 429 and rate-limit codes. */
    readonly retryable: boolean,
    /** The server's Retry-After, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** DingTalk and WeChat Work robots take 20 messages a minute. */
export const ROBOT_RATE_LIMIT: RateLimit = { messages: 20, perMs: 60_000 };

/** What the channels share: identity, limits, and measuring a message by its rendered markdown. */
export abstract class BaseChannel implements Channel {
  abstract readonly type: ChannelType;
  readonly requestsPerMessage: number = 1;

  constructor(
    readonly name: string,
    readonly rateKey: string,
    readonly rateLimit: RateLimit | undefined,
    readonly maxBytes: number,
    protected readonly render: RenderOptions,
  ) {}

  /** The text that counts against {@link maxBytes}: the markdown body. */
  protected text(n: Notification): string {
    return renderNotification(n, this.render).body;
  }

  size(n: Notification): number {
    return Buffer.byteLength(this.text(n), 'utf8');
  }

  abstract send(n: Notification, signal: AbortSignal): Promise<void>;
}
