import { createHmac } from 'node:crypto';

/**
 * DingTalk robot signature: base64(HMAC-SHA256(key = secret, timestamp + "\n" + secret)),
 * sent URL-encoded as `sign` beside `timestamp` (milliseconds).
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/**
 * Feishu custom bot signature: base64(HMAC-SHA256(key = timestamp + "\n" + secret, empty
 * message)), sent in the body with `timestamp` in seconds.
 */
export function feishuSign(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

/** Webhook signature header value: `sha256=<hex HMAC-SHA256 of the exact body>`. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
