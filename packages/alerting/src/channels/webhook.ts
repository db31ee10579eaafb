import type { WebhookChannelConfig } from '../config';
import { renderNotification, type RenderOptions } from '../template';
import type { Notification } from '../types';
import { BaseChannel } from './channel';
import { checkResponse, postJson } from './http';
import { webhookSignature } from './sign';

/** Header carrying `sha256=<hex HMAC-SHA256 of the body>` when the channel has a secret. */
export const SIGNATURE_HEADER = 'X-Bizmon-Signature';

/**
 * The JSON a webhook receives. The top-level `alert_name`, `severity`, `message`, `details`,
 * `timestamp` and `source` are the seed's fields (of the first alert); `alerts` holds them all.
 */
export interface WebhookBody {
  alert_name: string;
  severity: string;
  message: string;
  details: Record<string, unknown>;
  timestamp: string;
  source: string;
  status: 'firing' | 'resolved';
  title: string;
  text: string;
  alerts: Notification['alerts'];
  truncatedAlerts: number;
}

/** Generic webhook: JSON POST, optionally HMAC-signed; non-2xx is a failure. */
export class WebhookChannel extends BaseChannel {
  readonly type = 'webhook' as const;

  constructor(
    name: string,
    private readonly config: WebhookChannelConfig,
    render: RenderOptions,
  ) {
    super(name, config.url, config.rateLimit, Number.POSITIVE_INFINITY, render);
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const first = n.alerts[0]!;
    const { title, body: markdown } = renderNotification(n, this.render);
    const payload: WebhookBody = {
      alert_name: first.name,
      severity: first.severity,
      message: first.summary,
      details: first.details ?? { ...first.labels },
      timestamp: first.status === 'resolved' && first.endsAt ? first.endsAt : first.startsAt,
      source: n.source,
      status: n.alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      title,
      text: markdown,
      alerts: n.alerts,
      truncatedAlerts: n.truncatedAlerts,
    };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {};
    if (this.config.secret) headers[SIGNATURE_HEADER] = webhookSignature(this.config.secret, body);
    checkResponse(await postJson(this.config.url, body, signal, headers));
  }
}
