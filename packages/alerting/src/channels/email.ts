import nodemailer, { type Transporter } from 'nodemailer';
import type { EmailChannelConfig } from '../config';
import { html, plain } from '../markup';
import { renderNotification, type RenderOptions } from '../template';
import type { Notification } from '../types';
import { BaseChannel, DeliveryError } from './channel';

/** Network-level nodemailer error codes; a later attempt may succeed. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNRESET',
  'ECONNREFUSED',
]);

/** Email over SMTP (nodemailer). SMTP 4xx and connection errors are retried; 5xx and bad logins are not. */
export class EmailChannel extends BaseChannel {
  readonly type = 'email' as const;
  private readonly transport: Transporter;

  constructor(
    name: string,
    private readonly config: EmailChannelConfig,
    render: RenderOptions,
    timeoutMs: number,
  ) {
    const { smtp } = config;
    super(
      name,
      `smtp://${smtp.host}:${smtp.port}`,
      config.rateLimit,
      Number.POSITIVE_INFINITY,
      render,
    );
    this.transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.auth,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      tls: smtp.tlsRejectUnauthorized === false ? { rejectUnauthorized: false } : undefined,
    });
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    // The title is one line (no CR/LF to inject headers with); nodemailer encodes it.
    const { title, body: text } = renderNotification(n, this.render, plain);
    const sending = this.transport.sendMail({
      from: this.config.from,
      to: this.config.to,
      subject: title,
      text,
      html: renderNotification(n, this.render, html).body,
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new DeliveryError('email: timed out', true));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([sending, aborted]);
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      throw toDeliveryError(err);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      sending.catch(() => undefined);
    }
  }

  close(): void {
    this.transport.close();
  }
}

function toDeliveryError(err: unknown): DeliveryError {
  const e = err as { message?: string; code?: string; responseCode?: number };
  const message = `email: ${e.message ?? String(err)}`;
  if (e.code === 'EAUTH')
    return new DeliveryError(`${message}; not retrying, check the SMTP login`, false);
  if (typeof e.responseCode === 'number') {
    const retryable = e.responseCode < 500;
    return new DeliveryError(retryable ? message : `${message}; not retrying`, retryable);
  }
  return new DeliveryError(message, e.code === undefined || TRANSIENT_CODES.has(e.code));
}
