import { z } from 'zod';

const url = z.url({ protocol: /^https?$/ });

/** Optional per-channel rate limit: at most `messages` in any `perMs` window. */
const rateLimit = z
  .object({ messages: z.number().int().positive(), perMs: z.number().int().positive() })
  .strict();

const common = { name: z.string().min(1).optional(), rateLimit: rateLimit.optional() };

export const emailChannelSchema = z
  .object({
    type: z.literal('email'),
    ...common,
    smtp: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535),
        secure: z.boolean().default(false),
        auth: z.object({ user: z.string(), pass: z.string() }).strict().optional(),
        /** Accept self-signed certificates (test servers only). */
        tlsRejectUnauthorized: z.boolean().optional(),
      })
      .strict(),
    from: z.string().min(1),
    to: z.array(z.string().min(1)).min(1),
  })
  .strict();

export const webhookChannelSchema = z
  .object({ type: z.literal('webhook'), ...common, url, secret: z.string().min(1).optional() })
  .strict();

export const dingtalkChannelSchema = z
  .object({
    type: z.literal('dingtalk'),
    ...common,
    webhookUrl: url,
    secret: z.string().min(1).optional(),
    atMobiles: z.array(z.string().min(1)).optional(),
    isAtAll: z.boolean().optional(),
  })
  .strict();

export const wecomChannelSchema = z
  .object({
    type: z.literal('wecom'),
    ...common,
    webhookUrl: url,
    mentionedMobiles: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const feishuChannelSchema = z
  .object({
    type: z.literal('feishu'),
    ...common,
    webhookUrl: url,
    secret: z.string().min(1).optional(),
  })
  .strict();

/** Any channel object, checked by its `type`. */
export const channelConfigSchema = z.discriminatedUnion('type', [
  emailChannelSchema,
  webhookChannelSchema,
  dingtalkChannelSchema,
  wecomChannelSchema,
  feishuChannelSchema,
]);

/** A channel as users write it (before defaults). */
export type ChannelConfigInput = z.input<typeof channelConfigSchema>;
/** A channel after validation. */
export type ChannelConfig = z.output<typeof channelConfigSchema>;
export type EmailChannelConfig = z.output<typeof emailChannelSchema>;
export type WebhookChannelConfig = z.output<typeof webhookChannelSchema>;
export type DingTalkChannelConfig = z.output<typeof dingtalkChannelSchema>;
export type WeComChannelConfig = z.output<typeof wecomChannelSchema>;
export type FeishuChannelConfig = z.output<typeof feishuChannelSchema>;

/** Delivery tuning. The defaults are the production values; tests shorten them. */
export const deliverySchema = z
  .object({
    /** Per-request timeout. */
    timeoutMs: z.number().int().positive().default(10_000),
    /** First retry delay; doubles each attempt, with jitter. */
    retryBaseMs: z.number().int().positive().default(1_000),
    /** Longest delay between two attempts. */
    retryMaxMs: z.number().int().positive().default(60_000),
    /** Attempts before giving up on a retryable failure (the bridge never gives up by default). */
    maxAttempts: z.number().int().positive().optional(),
  })
  .strict();
export type DeliveryOptions = z.output<typeof deliverySchema>;
export type DeliveryOptionsInput = z.input<typeof deliverySchema>;

/**
 * Turns zod issues into one readable line per problem, without echoing values (which may be
 * secrets).
 */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
