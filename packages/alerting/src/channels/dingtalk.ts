import type { DingTalkChannelConfig } from '../config';
import { renderNotification, truncateUtf8, type RenderOptions } from '../template';
import type { Notification } from '../types';
import { ROBOT_RATE_LIMIT, type Channel } from './channel';
import { checkResponse, postJson, type PlatformRules } from './http';
import { dingtalkSign } from './sign';

/** DingTalk's markdown text limit. */
const MAX_BYTES = 20_000;
const RULES: PlatformRules = {
  platform: 'dingtalk',
  codeFields: ['errcode'],
  messageFields: ['errmsg'],
  // 130101: sending too fast; -1: system busy.
  retryableCodes: [130101, -1],
};

/** DingTalk custom robot: markdown, signed when a secret is set, with @mobiles / @all. */
export class DingTalkChannel implements Channel {
  readonly type = 'dingtalk' as const;
  readonly maxBytes = MAX_BYTES;
  readonly requestsPerMessage = 1;
  readonly rateKey: string;
  readonly rateLimit;

  constructor(
    readonly name: string,
    private readonly config: DingTalkChannelConfig,
    private readonly render: RenderOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.rateKey = config.webhookUrl;
    this.rateLimit = config.rateLimit ?? ROBOT_RATE_LIMIT;
  }

  private text(n: Notification): { title: string; text: string } {
    const { title, markdown } = renderNotification(n, this.render);
    // DingTalk only notifies the people whose @mobile appears in the text.
    const mentions = (this.config.atMobiles ?? []).map((m) => `@${m}`).join(' ');
    return { title, text: mentions ? `${markdown}\n\n${mentions}` : markdown };
  }

  size(n: Notification): number {
    return Buffer.byteLength(this.text(n).text, 'utf8');
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const { title, text } = this.text(n);
    const url = new URL(this.config.webhookUrl);
    if (this.config.secret) {
      const ts = this.now();
      url.searchParams.set('timestamp', String(ts));
      url.searchParams.set('sign', dingtalkSign(this.config.secret, ts));
    }
    const res = await postJson(
      url.toString(),
      {
        msgtype: 'markdown',
        markdown: { title, text: truncateUtf8(text, MAX_BYTES, this.render.language) },
        at: { atMobiles: this.config.atMobiles ?? [], isAtAll: this.config.isAtAll ?? false },
      },
      signal,
    );
    checkResponse(res, RULES);
  }
}
