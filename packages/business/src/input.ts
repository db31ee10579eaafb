import { activeTelemetry, currentUserRole } from '@bizmon/core';
import { reportDrop } from '@bizmon/core/internal';

/**
 * Reading app-supplied input without trusting it. Helpers take plain objects from app code;
 * these functions turn whatever arrives into something core's storage can judge (core drops
 * and counts bad label values and numbers), without allocating on the hot path.
 */

/**
 * A number, or NaN for anything else. Core's series compare with `>=`, so a numeric string
 * such as "5" would slip through and be concatenated into the sum; NaN is dropped and counted.
 */
export function numberOf(value: unknown): number {
  return typeof value === 'number' ? value : NaN;
}

/** The role to label with: the explicit one, else the current request's, else `anonymous`. */
export function roleOf(explicit: unknown): string {
  return explicit === undefined || explicit === null ? currentUserRole() : (explicit as string);
}

/** Mode label of AI task durations: `default` unless given. */
export function modeOf(explicit: unknown): string {
  return explicit === undefined || explicit === null ? 'default' : (explicit as string);
}

/**
 * Records that a helper could not read its input at all (a null options object, a getter that
 * threw). The measurement is dropped and counted under `metric`, like any other bad value.
 */
export function inputFailed(metric: string, helper: string, err: unknown): void {
  try {
    if (!recording()) return;
    reportDrop(metric, 'invalid_value', `${helper}() could not read its input (${describe(err)})`);
  } catch {
    // reportDrop never throws; this guards against a broken core copy only.
  }
}

function describe(err: unknown): string {
  try {
    // The name only: a message may quote app data.
    return err instanceof Error ? err.name : typeof err;
  } catch {
    return 'unreadable error';
  }
}

/** Whether bizmon records (started and not disabled): bad input is only reported then. */
export function recording(): boolean {
  const telemetry = activeTelemetry();
  return telemetry !== undefined && !telemetry.config.disabled;
}
