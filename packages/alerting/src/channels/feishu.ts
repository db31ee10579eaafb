import type { FeishuChannelConfig } from '../config';
import { alertEmoji, renderNotification, truncateUtf8, type RenderOptions } from '../template';
import type { Notification } from '../types';
import { BaseChannel } from './channel';
import { checkResponse, postJson, type PlatformRules } from './http';
import { feishuSign } from './sign';

/** Feishu takes request bodies up to 20 KB; leave room for the card around the text. */
const MAX_BYTES = 18_000;
const RULES: PlatformRules = {
  platform: 'feishu',
  codeFields: ['code', 'StatusCode'],
  messageFields: ['msg', 'StatusMessage'],
  // 11232: frequency limited.
  retryableCodes: [11232],
};

/** Feishu / Lark custom bot: an interactive card with a markdown body, signed when a secret is set. */
export class FeishuChannel extends BaseChannel {
  readonly type = 'feishu' as const;

  constructor(
    name: string,
    private readonly config: FeishuChannelConfig,
    render: RenderOptions,
    private readonly now: () => number = Date.now,
  ) {
    super(name, config.webhookUrl, config.rateLimit, MAX_BYTES, render);
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const { title, body: markdown } = renderNotification(n, this.render);
    const firing = n.alerts.filter((a) => a.status === 'firing');
    const color = !firing.length
      ? 'green'
      : firing.some((a) => a.severity === 'critical')
        ? 'red'
        : alertEmoji(firing[0]!) === 'ℹ️'
          ? 'blue'
          : 'orange';
    const body: Record<string, unknown> = {
      msg_type: 'interactive',
      card: {
        header: { title: { tag: 'plain_text', content: title }, template: color },
        elements: [
          { tag: 'markdown', content: truncateUtf8(markdown, MAX_BYTES, this.render.language) },
        ],
      },
    };
    if (this.config.secret) {
      const ts = Math.floor(this.now() / 1000);
      body.timestamp = String(ts);
      body.sign = feishuSign(this.config.secret, ts);
    }
    checkResponse(await postJson(this.config.webhookUrl, body, signal), RULES);
  }
}
