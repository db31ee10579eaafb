/**
 * bizmon's own diagnostics. Everything goes to stderr with a `[bizmon]` prefix; warnings about
 * bad input are rate-limited per reason so a hot loop with a bad label cannot flood the log.
 * Every line is passed through {@link escapeControlChars}: messages echo app data (error
 * messages, label values, request input), and a `\n` or an ANSI escape in them must not forge a
 * second log line or repaint the operator's terminal.
 *
 * Credentials in URLs are masked here, once for every package (a library's error message may
 * quote a connection URL).
 */
import { redactUrls } from './redact-url';

const WARN_INTERVAL_MS = 60_000;
/**
 * Per copy of @bizmon/core, not in the process's shared state (state.ts): the shared state logs
 * through this module when it refuses a copy, so this module cannot depend on it. Warnings from
 * shared families go through the copy that created them; at worst two copies warn for the same
 * reason once a minute each.
 */
const lastWarned = new Map<string, number>();
const MAX_REASONS = 1000;

/**
 * C0 controls (line feed, carriage return, ESC…), DEL, C1 controls (0x9b is a one-byte CSI on
 * some terminals), the Unicode line and paragraph separators, and the bidirectional overrides
 * that reorder what a terminal shows.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Escapes control characters as `\n`, `\r`, `\t` or `\uXXXX`, so the text stays on one line and
 * cannot drive a terminal. Other text (backslashes included) is left as it is.
 */
export function escapeControlChars(text: string): string {
  return text.replace(
    CONTROL,
    (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Logs an informational line (start-up facts such as the exporter's address). */
export function info(message: string): void {
  process.stderr.write(`[bizmon] ${escapeControlChars(redactUrls(message))}\n`);
}

/** Logs a warning at once. For one-off problems (a bad variable, a taken port). */
export function warn(message: string): void {
  process.stderr.write(`[bizmon] warning: ${escapeControlChars(redactUrls(message))}\n`);
}

/**
 * Logs a warning at most once a minute per `reason`. For problems that can repeat on a hot path
 * (a dropped measurement); returns whether it logged.
 */
export function warnRateLimited(reason: string, message: string, now = Date.now()): boolean {
  const last = lastWarned.get(reason);
  if (last !== undefined && now - last < WARN_INTERVAL_MS) return false;
  // Reasons are a small fixed set in practice; the cap only guards against a caller that
  // builds reasons from input.
  if (last === undefined && lastWarned.size >= MAX_REASONS) lastWarned.clear();
  lastWarned.set(reason, now);
  warn(message);
  return true;
}
