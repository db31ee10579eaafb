import type { Notification } from '../types';

/** Delivery and shedding order: critical first, info last. */
export const SEVERITY_RANKS = ['critical', 'warning', 'info'] as const;
export type SeverityClass = (typeof SEVERITY_RANKS)[number];

/**
 * Rank of a `severity` label: 0 critical, 1 warning, 2 info. A missing or unknown severity counts
 * as warning (the bridge shows a missing one as warning too), so a typo never silences a page
 * nor lets noise outrank one.
 */
export function severityRank(severity: string | undefined): number {
  const i = SEVERITY_RANKS.indexOf((severity ?? '').toLowerCase() as SeverityClass);
  return i < 0 ? 1 : i;
}

/** A notification is as urgent as its most urgent alert. */
export function notificationRank(n: Notification): number {
  let rank = SEVERITY_RANKS.length - 1;
  for (const a of n.alerts) rank = Math.min(rank, severityRank(a.severity));
  return rank;
}
