import type { DingTalkChannelConfig } from '../config';
import { renderNotification, truncateUtf8, type RenderOptions } from '../template';
import type { Notification } from '../types';
import { BaseChannel, ROBOT_RATE_LIMIT } from './channel';
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
export class DingTalkChannel extends BaseChannel {
  readonly type = 'dingtalk' as const;

  constructor(
    name: string,
    private readonly config: DingTalkChannelConfig,
    render: RenderOptions,
    private readonly now: () => number = Date.now,
  ) {
    super(name, config.webhookUrl, config.rateLimit ?? ROBOT_RATE_LIMIT, MAX_BYTES, render);
  }

  protected override text(n: Notification): string {
    const markdown = super.text(n);
    // DingTalk only notifies the people whose @mobile appears in the text.
    const mentions = (this.config.atMobiles ?? []).map((m) => `@${m}`).join(' ');
    return mentions ? `${markdown}\n\n${mentions}` : markdown;
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const { title } = renderNotification(n, this.render);
    const text = this.text(n);
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
