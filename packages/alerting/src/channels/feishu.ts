import type { FeishuChannelConfig } from '../config';
import { alertEmoji, renderNotification, truncateUtf8, type RenderOptions } from '../template';
import type { Notification } from '../types';
import type { Channel } from './channel';
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
export class FeishuChannel implements Channel {
  readonly type = 'feishu' as const;
  readonly maxBytes = MAX_BYTES;
  readonly requestsPerMessage = 1;
  readonly rateKey: string;
  readonly rateLimit;

  constructor(
    readonly name: string,
    private readonly config: FeishuChannelConfig,
    private readonly render: RenderOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.rateKey = config.webhookUrl;
    this.rateLimit = config.rateLimit;
  }

  size(n: Notification): number {
    return Buffer.byteLength(renderNotification(n, this.render).markdown, 'utf8');
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const { title, markdown } = renderNotification(n, this.render);
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
