import { redactUrls } from '../base/redact-url';
import { state } from '../base/state';
import { TimeoutError, withTimeout } from '../base/timeout';

/** What a health check reports. */
export interface HealthCheckResult {
  healthy: boolean;
  message: string;
}

/** A health check: returns a result, a boolean, or throws (unhealthy with the error's message). */
export type HealthCheck = () => HealthCheckResult | boolean | Promise<HealthCheckResult | boolean>;

/** Options of registerHealthCheck. */
export interface HealthCheckOptions {
  /** A check still running after this many milliseconds counts as unhealthy. Default 2000. */
  timeoutMs?: number;
}

/** @internal */
export interface HealthCheckEntry {
  check: HealthCheck;
  timeoutMs: number;
}

/** The `/health` answer. */
export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  timestamp: string;
  checks: Record<string, HealthCheckResult>;
}

/** The `/health` answer to a caller without the admin token: each check's status, no message. */
export interface HealthStatusReport {
  status: HealthReport['status'];
  timestamp: string;
  checks: Record<string, { healthy: boolean }>;
}

/** Checks always present in the report; "not configured" (healthy) until something registers them. */
export const STANDARD_HEALTH_CHECKS = ['database', 'redis', 'ai_services'] as const;

export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;

/**
 * Registers (or replaces) the check `name`. Returns a function that removes it.
 */
export function registerHealthCheck(
  name: string,
  check: HealthCheck,
  options: HealthCheckOptions = {},
): () => void {
  const entry: HealthCheckEntry = {
    check,
    timeoutMs: options.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS,
  };
  state.healthChecks.set(name, entry);
  return () => {
    if (state.healthChecks.get(name) === entry) state.healthChecks.delete(name);
  };
}

async function runOne(entry: HealthCheckEntry): Promise<HealthCheckResult> {
  try {
    const r = await withTimeout(entry.check, entry.timeoutMs, 'health check');
    return typeof r === 'boolean'
      ? { healthy: r, message: r ? 'ok' : 'unhealthy' }
      : { healthy: r?.healthy === true, message: redactUrls(String(r?.message ?? '')) };
  } catch (err) {
    if (err instanceof TimeoutError)
      return { healthy: false, message: `timed out after ${err.ms} ms` };
    return {
      healthy: false,
      message: redactUrls(err instanceof Error ? err.message : String(err)),
    };
  }
}

let running: Promise<HealthReport> | undefined;

/**
 * Runs every check concurrently, each within its timeout. Calls made while a run is under way
 * share it, so a flood of `/health` requests costs the database and Redis one check at a time.
 */
export function runHealthChecks(): Promise<HealthReport> {
  running ??= runAll().finally(() => (running = undefined));
  return running;
}

async function runAll(): Promise<HealthReport> {
  const checks: Record<string, HealthCheckResult> = {};
  for (const name of STANDARD_HEALTH_CHECKS)
    checks[name] = { healthy: true, message: 'not configured' };
  const entries = [...state.healthChecks];
  const results = await Promise.all(entries.map(([, entry]) => runOne(entry)));
  entries.forEach(([name], i) => (checks[name] = results[i]!));
  const healthy = Object.values(checks).every((c) => c.healthy);
  return { status: healthy ? 'healthy' : 'unhealthy', timestamp: new Date().toISOString(), checks };
}

/** The report without check messages, which quote backends' errors (see HealthStatusReport). */
export function healthStatusOnly(report: HealthReport): HealthStatusReport {
  const checks: Record<string, { healthy: boolean }> = {};
  for (const [name, check] of Object.entries(report.checks))
    checks[name] = { healthy: check.healthy };
  return { status: report.status, timestamp: report.timestamp, checks };
}
