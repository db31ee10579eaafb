import type { ChannelConfig } from './config';
import { escapeControlChars } from './log-escape';
import type { Logger } from './types';

const MASK = '***';
/** Query parameters that carry robot tokens or signatures on the platforms we talk to. */
const SECRET_PARAMS = /([?&](?:access_token|key|token|sign|secret)=)[^&\s"'#]+/gi;
/** Feishu puts the token in the path: /open-apis/bot/v2/hook/<token>. */
const HOOK_PATH = /(\/hook\/)[^/?\s"'#]+/gi;
/** Short strings would mask ordinary words; real tokens and secrets are longer. */
const MIN_SECRET_LENGTH = 4;

/**
 * Masks secrets in text meant for logs, errors and metrics: every known secret value (raw and
 * URL-encoded), plus token-shaped query parameters and hook paths in any URL.
 */
export class Redactor {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string> = []) {
    const all = new Set<string>();
    for (const s of secrets) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      all.add(s);
      all.add(encodeURIComponent(s));
    }
    // Longest first, so a secret containing another is masked whole.
    this.secrets = [...all].sort((a, b) => b.length - a.length);
  }

  /**
   * Collects the secrets of channel configs (URL tokens, robot secrets, SMTP passwords), plus
   * `extra` ones (the bridge's webhook credentials).
   */
  static forChannels(channels: Iterable<ChannelConfig>, extra: Iterable<string> = []): Redactor {
    const secrets: string[] = [...extra];
    for (const c of channels) {
      if (c.type === 'email') {
        if (c.smtp.auth) secrets.push(c.smtp.auth.pass);
        continue;
      }
      if ('secret' in c && c.secret) secrets.push(c.secret);
      const raw = c.type === 'webhook' ? c.url : c.webhookUrl;
      secrets.push(...urlSecrets(raw));
    }
    return new Redactor(secrets);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join(MASK);
    return out.replace(SECRET_PARAMS, `$1${MASK}`).replace(HOOK_PATH, `$1${MASK}`);
  }

  /**
   * A logger whose every line is redacted and has its control characters escaped first, so a
   * custom sink gets one line per message whatever the alert's labels held.
   */
  wrap(logger: Logger): Logger {
    const line = (m: string) => escapeControlChars(this.redact(m));
    return {
      info: (m) => logger.info(line(m)),
      warn: (m) => logger.warn(line(m)),
      error: (m) => logger.error(line(m)),
    };
  }
}

/** Every part of a URL that may be a credential: query values, path segments after /hook/, userinfo. */
function urlSecrets(raw: string): string[] {
  const out: string[] = [];
  try {
    const u = new URL(raw);
    for (const v of u.searchParams.values()) out.push(v);
    if (u.password) out.push(decodeURIComponent(u.password));
    const hook = /\/hook\/([^/]+)/.exec(u.pathname);
    if (hook?.[1]) out.push(decodeURIComponent(hook[1]));
  } catch {
    // The schema already rejected invalid URLs; nothing to collect.
  }
  return out;
}

/**
 * The default sink: one line on stderr per message, prefixed like the rest of bizmon. It escapes
 * control characters itself too, for the few lines written without a redactor (an alert name
 * given to `sendBusinessAlert` before initialisation).
 */
export const stderrLogger: Logger = {
  info: (m) => process.stderr.write(`[bizmon-alerting] ${escapeControlChars(m)}\n`),
  warn: (m) => process.stderr.write(`[bizmon-alerting] warning: ${escapeControlChars(m)}\n`),
  error: (m) => process.stderr.write(`[bizmon-alerting] error: ${escapeControlChars(m)}\n`),
};
