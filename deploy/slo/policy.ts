/** The burn-rate arithmetic of the multi-window, multi-burn-rate alerts. */
import { config } from '../config';
import type { Slo } from './specs';

/** Seconds in a Prometheus duration such as `30d`, `6h` or `1h30m`. */
export function seconds(duration: string): number {
  const units: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
  const parts = [...duration.matchAll(/(\d+)([wdhms])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== duration) {
    throw new Error(`not a duration: ${duration}`);
  }
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * units[u!]!, 0);
}

/** A number as PromQL and YAML print it: no binary-float tails (1 - 0.999 is 0.001). */
export function tidy(x: number): number {
  return Number(x.toPrecision(10));
}

/** The error budget: the share of events allowed to be bad. */
export function errorBudget(slo: Slo): number {
  return tidy(1 - slo.objective);
}

/** One window pair of the policy, resolved for an SLO. */
export interface BurnPair {
  readonly severity: 'critical' | 'warning';
  readonly budgetShare: number;
  readonly long: string;
  readonly short: string;
  /** Burn-rate factor: budgetShare × period / long. */
  readonly factor: number;
}

export function burnPairs(slo: Slo): BurnPair[] {
  return config.slo.policy.map((p) => ({
    ...p,
    factor: tidy((p.budgetShare * seconds(slo.period)) / seconds(p.long)),
  }));
}

/** Every window the alerts read, shortest first. */
export function windows(slo: Slo): string[] {
  const all = new Set(burnPairs(slo).flatMap((p) => [p.short, p.long]));
  return [...all].sort((a, b) => seconds(a) - seconds(b));
}

/** Long windows that carry the low-traffic guard: at most 6 h (3 d of raw increase is costly). */
export function guardWindow(pair: BurnPair): string {
  return seconds(pair.long) <= 6 * 3600 ? pair.long : pair.short;
}
