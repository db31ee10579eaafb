/**
 * How config numbers read in descriptions and runbooks: one formatter per kind of number, so
 * that the rule files and the runbooks print a threshold the same way.
 */
import { seconds, tidy } from '../slo/policy';

/** `0.05` → `5%` (descriptions; `sep` `' '` for prose: `5 %`). */
export function pct(ratio: number, sep = ''): string {
  return `${tidy(ratio * 100)}${sep}%`;
}

const UNITS: readonly [number, string, string][] = [
  [86400, 'day', 'a day'],
  [3600, 'hour', 'an hour'],
  [60, 'minute', 'a minute'],
  [1, 'second', 'a second'],
];

/** `5m` → `5 minutes`, `1m` → `a minute`, `90s` → `90 seconds`, `1h30m` → `1h30m`. */
export function human(duration: string): string {
  const s = seconds(duration);
  for (const [size, unit, one] of UNITS) {
    if (s % size === 0) {
      const n = s / size;
      return n === 1 ? one : `${n} ${unit}s`;
    }
  }
  return duration;
}

/** `1m` → `the last minute`, `5m` → `the last 5 minutes`. */
export function last(duration: string): string {
  return `the last ${human(duration).replace(/^an? /, '')}`;
}

/** Events over a window at `perSecond`: 0.1/s over `5m` → 30. */
export function eventsIn(perSecond: number, window: string): number {
  return tidy(perSecond * seconds(window));
}
