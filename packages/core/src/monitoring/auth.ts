import type * as Crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * node:crypto, loaded by the first token check: loading it costs 3-6 ms of every preloaded
 * process's start-up on Node 20 (bench/startup.mjs), and most processes never see a request.
 */
let crypto: typeof Crypto | undefined;

function digest(value: string): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  crypto ??= require('node:crypto') as typeof Crypto;
  return crypto.createHash('sha256').update(value).digest();
}

/**
 * Whether the request carries `Authorization: Bearer <expected>`. Compares SHA-256 digests in
 * constant time, so neither the token's content nor its length leaks through timing.
 */
export function hasBearerToken(req: IncomingMessage, expected: string): boolean {
  const header = req.headers.authorization;
  const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
  const givenDigest = digest(given);
  return crypto!.timingSafeEqual(givenDigest, digest(expected)) && given.length > 0;
}
