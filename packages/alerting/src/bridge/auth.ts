import { createHash, timingSafeEqual } from 'node:crypto';
import type { BridgeAuth } from './config';

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Equal in constant time: SHA-256 digests are compared, so neither content nor length leaks. */
function sameSecret(given: Buffer, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Checks the `Authorization` header of a webhook request against the configured credentials
 * (the way Alertmanager's `http_config.authorization` and `basic_auth` send them).
 */
export class WebhookAuth {
  private readonly bearer?: Buffer;
  private readonly basic?: Buffer;
  /** The value of `WWW-Authenticate` on a 401: one challenge per accepted scheme. */
  readonly challenge: string;

  /** `auth` as {@link loadBridgeConfig} returns it: tokens already read from their files. */
  constructor(auth: BridgeAuth) {
    if (
      (auth.bearerTokenFile !== undefined && auth.bearerToken === undefined) ||
      (auth.basicAuth && auth.basicAuth.password === undefined)
    ) {
      throw new Error('auth: bearerTokenFile / passwordFile not read yet (use loadBridgeConfig)');
    }
    if (auth.bearerToken !== undefined) this.bearer = Buffer.from(auth.bearerToken, 'utf8');
    if (auth.basicAuth?.password !== undefined) {
      const { username, password } = auth.basicAuth;
      this.basic = Buffer.from(`${username}:${password}`, 'utf8');
    }
    const realm = 'realm="bizmon-alert-bridge"';
    this.challenge = [
      ...(this.bearer ? [`Bearer ${realm}`] : []),
      ...(this.basic ? [`Basic ${realm}, charset="UTF-8"`] : []),
    ].join(', ');
  }

  /** Whether `header` (the request's Authorization) carries valid credentials. */
  check(header: string | undefined): boolean {
    if (typeof header !== 'string') return false;
    const m = /^([A-Za-z]+) +(\S+) *$/.exec(header);
    if (!m) return false;
    const scheme = m[1]!.toLowerCase();
    const value = m[2]!;
    if (scheme === 'bearer' && this.bearer)
      return sameSecret(Buffer.from(value, 'utf8'), this.bearer);
    if (scheme === 'basic' && this.basic) {
      // Decoded as bytes: a user:password that is not UTF-8 simply does not match.
      return sameSecret(Buffer.from(value, 'base64'), this.basic);
    }
    return false;
  }
}
