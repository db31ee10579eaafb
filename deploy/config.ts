/**
 * The one place to adapt deploy/ to your setup, in the style of the monitoring mixins'
 * `_config` objects: selectors, teams, runbook links and the SLO paging policy. The SLO rules,
 * their promtool scenarios, runbook links and the SLO dashboard are generated from it
 * (`npm run deploy:generate`); change a value here and regenerate.
 */

/** Teams that own alerts; each has its own receiver in alertmanager/alertmanager.yml. */
export type Team = 'platform' | 'ai_services' | 'database' | 'cache' | 'security' | 'product';

export const config = {
  /**
   * Label matcher for the app's scrape job, added to every SLO selector (the Prometheus job in
   * prometheus/prometheus.yml and the ServiceMonitor relabelling both name it `bizmon`).
   */
  jobSelector: 'job="bizmon"',

  /**
   * Base of every generated `runbook_url`; the runbook of alert X is `<base>/X.md`. The default
   * is the folder shipped in this repository, relative to its root: set it to where your copy is
   * published (e.g. `https://git.example.com/you/bizmon/blob/main/deploy/runbooks`) so that the
   * links in notifications open.
   */
  runbookBaseUrl: 'deploy/runbooks',

  slo: {
    /** Objective of an SLO that names none. */
    defaultObjective: 0.999,
    /** Budget period of an SLO that names none (a Prometheus duration). */
    defaultPeriod: '30d',
    /**
     * Multi-window, multi-burn-rate policy (Google SRE workbook, ch. 5): alert when `budgetShare`
     * of the period's error budget would be spent within `long`, confirmed over `short`. The
     * burn-rate factor is `budgetShare × period / long` (14.4, 6 and 1 for 30 days).
     */
    policy: [
      { severity: 'critical', budgetShare: 0.02, long: '1h', short: '5m' },
      { severity: 'critical', budgetShare: 0.05, long: '6h', short: '30m' },
      { severity: 'warning', budgetShare: 0.1, long: '3d', short: '6h' },
    ],
    /**
     * Low-traffic guard: a pair only alerts once its long window (at most 6 h) holds this many
     * bad events, so two failures out of three requests do not page anyone.
     */
    minBadEvents: 10,
    /** How long an SLI may have no series at all before `ErrorBudgetBurnAbsent` fires. */
    absentFor: '15m',
  },
} as const satisfies {
  jobSelector: string;
  runbookBaseUrl: string;
  slo: {
    defaultObjective: number;
    defaultPeriod: string;
    policy: readonly {
      severity: 'critical' | 'warning';
      budgetShare: number;
      long: string;
      short: string;
    }[];
    minBadEvents: number;
    absentFor: string;
  };
};

/** The `runbook_url` of an alert. */
export function runbookUrl(alert: string): string {
  return `${config.runbookBaseUrl}/${alert}.md`;
}
