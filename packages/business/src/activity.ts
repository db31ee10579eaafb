import { instruments } from '@bizmon/core';

/** Retention periods: label value and cohort age in days. */
export const RETENTION_PERIODS = [
  ['d1', 1],
  ['d7', 7],
  ['d30', 30],
] as const;

/** Days counted by monthly_active_users, today included. */
export const MAU_DAYS = 30;
/** Minute buckets read for active_users_current: this minute and the five before it. */
export const ACTIVE_MINUTES = 6;

/** Figures computed at scrape time; `undefined` means "no sample" (unknown, or no cohort). */
export interface ActivityFigures {
  active: number;
  daily: number;
  monthly: number;
  conversion: number | undefined;
  retention: Record<'d1' | 'd7' | 'd30', number | undefined>;
}

/**
 * Where user activity is kept: per process, or shared through Redis. Ids arrive validated
 * (non-empty strings of at most 256 characters).
 */
export interface ActivityStore {
  seen(id: string): void;
  registered(id: string): void;
  purchased(id: string): void;
  /** Pushes buffered activity to shared storage (no-op per process). */
  flush(): Promise<void>;
  /** The figures now, or undefined when they cannot be known (Redis unreachable). */
  figures(): Promise<ActivityFigures | undefined>;
  close(): Promise<void>;
}

/** Writes figures to the gauges; unknown figures export no sample rather than a wrong one. */
export function publish(figures: ActivityFigures | undefined): void {
  const active = instruments.active_users_current.labels();
  const daily = instruments.daily_active_users.labels();
  const monthly = instruments.monthly_active_users.labels();
  const conversion = instruments.credit_conversion_rate.labels();
  if (figures === undefined) {
    active.clear();
    daily.clear();
    monthly.clear();
    conversion.clear();
    for (const [period] of RETENTION_PERIODS)
      instruments.user_retention_rate.labels(period).clear();
    return;
  }
  active.set(figures.active);
  daily.set(figures.daily);
  monthly.set(figures.monthly);
  if (figures.conversion === undefined) conversion.clear();
  else conversion.set(figures.conversion);
  for (const [period] of RETENTION_PERIODS) {
    const rate = figures.retention[period];
    const series = instruments.user_retention_rate.labels(period);
    if (rate === undefined) series.clear();
    else series.set(rate);
  }
}

/** A ratio in [0, 1], or undefined without a denominator (estimates can overshoot slightly). */
export function ratio(part: number, whole: number): number | undefined {
  if (!(whole > 0)) return undefined;
  return Math.min(1, Math.max(0, part / whole));
}
