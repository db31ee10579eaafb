/**
 * bizmon's own diagnostics. Everything goes to stderr with a `[bizmon]` prefix; warnings about
 * bad input are rate-limited per reason so a hot loop with a bad label cannot flood the log.
 * Credentials in URLs are masked here, once for every package (a library's error message may
 * quote a connection URL).
 */
import { redactUrls } from './redact-url';

const WARN_INTERVAL_MS = 60_000;
const lastWarned = new Map<string, number>();
const MAX_REASONS = 1000;

/** Logs an informational line (start-up facts such as the exporter's address). */
export function info(message: string): void {
  process.stderr.write(`[bizmon] ${redactUrls(message)}\n`);
}

/** Logs a warning at once. For one-off problems (a bad variable, a taken port). */
export function warn(message: string): void {
  process.stderr.write(`[bizmon] warning: ${redactUrls(message)}\n`);
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
