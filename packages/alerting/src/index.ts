export type { AlertItem, Language, Logger, Notification, Severity } from './types';
export type {
  ChannelConfig,
  ChannelConfigInput,
  DeliveryOptions,
  DeliveryOptionsInput,
  DingTalkChannelConfig,
  EmailChannelConfig,
  FeishuChannelConfig,
  WebhookChannelConfig,
  WeComChannelConfig,
} from './config';
export { channelConfigSchema } from './config';
export type { Channel, ChannelType, RateLimit } from './channels/channel';
export { DeliveryError, ROBOT_RATE_LIMIT } from './channels/channel';
export { createChannel, type ChannelContext } from './channels';
export { SIGNATURE_HEADER, type WebhookBody } from './channels/webhook';
export { WECOM_MAX_BYTES } from './channels/wecom';
export { dingtalkSign, feishuSign, webhookSignature } from './channels/sign';
export {
  renderNotification,
  truncateUtf8,
  formatTime,
  type RenderOptions,
  type RenderedMessage,
} from './template';
export {
  html as htmlMarkup,
  markdown as markdownMarkup,
  plain as plainMarkup,
  type Markup,
} from './markup';
export { Redactor } from './redact';
export { RateLimiter, type RateLimitStore } from './rate-limit';
export {
  Dispatcher,
  backoffMs,
  mergeNotifications,
  type DeliveryResult,
  type QueuedItem,
} from './dispatcher';
export {
  createAlertManager,
  initAlertManager,
  sendBusinessAlert,
  shutdownAlertManager,
  type AlertInput,
  type AlertManager,
  type AlertManagerConfig,
} from './manager';
export {
  loadBridgeConfig,
  routeAlert,
  bridgeConfigSchema,
  limitsSchema,
  type BridgeAuth,
  type BridgeLimits,
  type BridgeConfig,
  type BridgeConfigInput,
  type Route,
} from './bridge/config';
export { Bridge, MAX_BODY_BYTES } from './bridge/server';
export { DataDirLockedError, type LockHolder } from './bridge/lock';
export { severityRank } from './bridge/severity';
export {
  alertmanagerPayloadSchema,
  fromAlertmanager,
  type AlertmanagerPayload,
} from './bridge/payload';
