import type { ChannelConfig } from '../config';
import type { RenderOptions } from '../template';
import type { Logger } from '../types';
import type { Channel } from './channel';
import { DingTalkChannel } from './dingtalk';
import { EmailChannel } from './email';
import { FeishuChannel } from './feishu';
import { WebhookChannel } from './webhook';
import { WeComChannel } from './wecom';

/** What every channel needs besides its own config. */
export interface ChannelContext {
  render: RenderOptions;
  timeoutMs: number;
  log: Logger;
  /** Clock for signatures (tests move it to check the timestamp window). */
  now?: () => number;
}

/** Builds the channel for a validated config object. */
export function createChannel(name: string, config: ChannelConfig, ctx: ChannelContext): Channel {
  switch (config.type) {
    case 'email':
      return new EmailChannel(name, config, ctx.render, ctx.timeoutMs);
    case 'webhook':
      return new WebhookChannel(name, config, ctx.render);
    case 'dingtalk':
      return new DingTalkChannel(name, config, ctx.render, ctx.now);
    case 'wecom':
      return new WeComChannel(name, config, ctx.render, ctx.log);
    case 'feishu':
      return new FeishuChannel(name, config, ctx.render, ctx.now);
  }
}
