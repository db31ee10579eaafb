import type { WeComChannelConfig } from '../config';
import { renderNotification, truncateUtf8, type RenderOptions } from '../template';
import type { Logger, Notification } from '../types';
import { BaseChannel, ROBOT_RATE_LIMIT } from './channel';
import { checkResponse, postJson, type PlatformRules } from './http';

/** WeChat Work rejects markdown content over 4096 bytes. */
export const WECOM_MAX_BYTES = 4096;
const RULES: PlatformRules = {
  platform: 'wecom',
  codeFields: ['errcode'],
  messageFields: ['errmsg'],
  // 45009: API frequency limit; -1: system busy.
  retryableCodes: [45009, -1],
};

/**
 * WeChat Work group robot: markdown within 4096 bytes. Markdown messages cannot mention by
 * mobile, so `mentionedMobiles` costs a second, plain-text message.
 */
export class WeComChannel extends BaseChannel {
  readonly type = 'wecom' as const;
  override readonly requestsPerMessage: number;

  constructor(
    name: string,
    private readonly config: WeComChannelConfig,
    render: RenderOptions,
    private readonly log: Logger,
  ) {
    super(name, config.webhookUrl, config.rateLimit ?? ROBOT_RATE_LIMIT, WECOM_MAX_BYTES, render);
    this.requestsPerMessage = config.mentionedMobiles?.length ? 2 : 1;
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const { title, body: markdown } = renderNotification(n, this.render);
    const content = truncateUtf8(markdown, WECOM_MAX_BYTES, this.render.language);
    checkResponse(
      await postJson(
        this.config.webhookUrl,
        { msgtype: 'markdown', markdown: { content } },
        signal,
      ),
      RULES,
    );
    const mobiles = this.config.mentionedMobiles ?? [];
    if (!mobiles.length) return;
    // The alert itself is delivered; a failed mention must not make the dispatcher resend it.
    try {
      const res = await postJson(
        this.config.webhookUrl,
        {
          msgtype: 'text',
          // Text messages take WeChat Work's `<@userid>` mention too: only our list mentions.
          text: { content: title.replaceAll('<', '＜'), mentioned_mobile_list: mobiles },
        },
        signal,
      );
      checkResponse(res, RULES);
    } catch (err) {
      this.log.warn(`channel ${this.name}: the mention message failed: ${(err as Error).message}`);
    }
  }
}
