/**
 * The threshold alerts (prometheus/rules/bizmon-alerts.rules.yml): each number comes from
 * `config.thresholds` and is written into both the expression and the description, every
 * selector carries the config's job, and every `runbook_url` comes from
 * `config.runbookBaseUrl`.
 */
import { Document, isMap, isScalar, isSeq } from 'yaml';
import { config, runbookUrl, type DeployConfig, type Team } from '../config';
import { seconds } from '../slo/policy';
import { human, last, pct } from './format';

export const ALERTS_RULES_FILE = 'bizmon-alerts.rules.yml';

/** A threshold alert as the generator holds it. */
export interface ThresholdAlert {
  readonly alert: string;
  /** Why the expression looks as it does; written above the rule. */
  readonly why?: string;
  readonly expr: string;
  readonly for?: string;
  readonly severity: 'critical' | 'warning' | 'info';
  readonly team: Team;
  readonly summary: string;
  readonly description: string;
}

/** A Prometheus duration for a number of seconds (`65m`, `3907s`). */
function duration(s: number): string {
  return s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/** Builds the alerts' PromQL from one config: every selector carries the config's job. */
function promql(cfg: DeployConfig) {
  const job = cfg.jobSelector;
  /** `metric{job="bizmon",extra}`. */
  const sel = (metric: string, extra?: string) =>
    `${metric}{${extra === undefined ? job : `${job},${extra}`}}`;

  /** Counts over labelled counters that also see series born inside the window. */
  const countIncludingNew = (by: string, metric: string, window: string) => {
    const m = sel(metric);
    return `sum by (${by}) (
    (increase(${m}[${window}]) and ${m} offset ${window})
  or
    (${m} unless ${m} offset ${window})
)`;
  };

  /**
   * Over `min` a second and `factor` times the hour before, once the job has an hour before
   * (its system_info existed an hour before the window).
   */
  const surge = (metric: string, t: { minPerSecond: number; factor: number; window: string }) => {
    const m = sel(metric);
    const aged = `max by (job) (${sel('system_info')} offset ${duration(3600 + seconds(t.window))})`;
    return `sum by (job) (rate(${m}[${t.window}])) > ${t.minPerSecond}
and on (job)
sum by (job) (rate(${m}[${t.window}]))
  > ${t.factor} * (
        sum by (job) (rate(${m}[1h] offset ${t.window}))
      or on (job)
        ${aged} * 0
    )
and on (job)
${aged}`;
  };
  return { sel, countIncludingNew, surge };
}

/** The threshold alerts, by rule group, for one config. */
export function thresholdGroups(
  cfg: DeployConfig = config,
): { name: string; rules: ThresholdAlert[] }[] {
  const t = cfg.thresholds;
  const { sel, countIncludingNew, surge } = promql(cfg);
  const agent = cfg.agentLabels.join(', ');
  const agentSel = (metric: string) => `${metric}{${cfg.agentJobSelector}}`;
  const agentName = cfg.agentLabels.map((l) => `${l} {{ $labels.${l} }}`).join(', ');
  return [
    {
      name: 'business_critical',
      rules: [
        {
          alert: 'HighErrorRate',
          why: `${t.HighErrorRate.window} window + ${t.HighErrorRate.for} \`for\`: sized for the 2-minute promise (README, "The 2-minute promise").\nAt least ${t.HighErrorRate.minErrors} errors in the window, so a lone 5xx on a quiet service never pages.`,
          expr: `(
    sum by (job) (rate(${sel('http_requests_total', 'status_code=~"5.."')}[${t.HighErrorRate.window}]))
  /
    sum by (job) (rate(${sel('http_requests_total')}[${t.HighErrorRate.window}]))
) > ${t.HighErrorRate.errorRatio}
and on (job)
sum by (job) (increase(${sel('http_requests_total', 'status_code=~"5.."')}[${t.HighErrorRate.window}])) >= ${t.HighErrorRate.minErrors}`,
          for: t.HighErrorRate.for,
          severity: 'critical',
          team: 'platform',
          summary: 'High HTTP error rate on {{ $labels.job }}',
          description: `{{ $value | humanizePercentage }} of requests to {{ $labels.job }} answered 5xx over ${last(t.HighErrorRate.window)} (threshold ${pct(t.HighErrorRate.errorRatio)}).`,
        },
        {
          alert: 'SlowResponseTime',
          expr: `histogram_quantile(0.95, sum by (job, le) (rate(${sel('http_request_duration_seconds_bucket')}[${t.SlowResponseTime.window}]))) > ${t.SlowResponseTime.p95Seconds}
and on (job)
sum by (job) (rate(${sel('http_request_duration_seconds_count')}[${t.SlowResponseTime.window}])) > ${t.SlowResponseTime.minRequestsPerSecond}`,
          for: t.SlowResponseTime.for,
          severity: 'warning',
          team: 'platform',
          summary: 'Slow HTTP responses on {{ $labels.job }}',
          description: `p95 response time of {{ $labels.job }} is {{ $value | humanizeDuration }} over ${last(t.SlowResponseTime.window)} (threshold ${t.SlowResponseTime.p95Seconds}s).`,
        },
        {
          alert: 'AIServiceHighFailureRate',
          why: 'Failed share of finished tasks (success + failed); pending counts submissions.',
          expr: `(
    sum by (job, service) (rate(${sel('ai_tasks_total', 'status="failed"')}[${t.AIServiceHighFailureRate.window}]))
  /
    sum by (job, service) (rate(${sel('ai_tasks_total', 'status=~"success|failed"')}[${t.AIServiceHighFailureRate.window}]))
) > ${t.AIServiceHighFailureRate.failedRatio}
and on (job, service)
sum by (job, service) (increase(${sel('ai_tasks_total', 'status="failed"')}[${t.AIServiceHighFailureRate.window}])) >= ${t.AIServiceHighFailureRate.minFailures}`,
          for: t.AIServiceHighFailureRate.for,
          severity: 'critical',
          team: 'ai_services',
          summary: 'AI service {{ $labels.service }} is failing',
          description: `{{ $value | humanizePercentage }} of finished {{ $labels.service }} tasks failed over ${last(t.AIServiceHighFailureRate.window)} on {{ $labels.job }} (threshold ${pct(t.AIServiceHighFailureRate.failedRatio)}).`,
        },
        {
          alert: 'LowCacheHitRate',
          why: 'From the counters rather than the per-process cache_hit_rate gauge, so instances are\nweighted by their traffic; `or ... * 0` keeps a cache with misses and no hits at 0 %.',
          expr: `(
    (
        sum by (job) (rate(${sel('cache_operations_total', 'result="hit"')}[${t.LowCacheHitRate.window}]))
      or
        sum by (job) (rate(${sel('cache_operations_total', 'result="miss"')}[${t.LowCacheHitRate.window}])) * 0
    )
  /
    sum by (job) (rate(${sel('cache_operations_total', 'result=~"hit|miss"')}[${t.LowCacheHitRate.window}]))
) < ${t.LowCacheHitRate.hitRatio}
and on (job)
sum by (job) (rate(${sel('cache_operations_total', 'result=~"hit|miss"')}[${t.LowCacheHitRate.window}])) > ${t.LowCacheHitRate.minLookupsPerSecond}`,
          for: t.LowCacheHitRate.for,
          severity: 'warning',
          team: 'cache',
          summary: 'Low cache hit rate on {{ $labels.job }}',
          description: `Cache hit rate of {{ $labels.job }} is {{ $value | humanizePercentage }} over ${last(t.LowCacheHitRate.window)} (threshold ${pct(t.LowCacheHitRate.hitRatio)}).`,
        },
        {
          alert: 'UnusualUserActivity',
          why: 'max, not sum: with BIZMON_REDIS_URL every instance reports the same global count.',
          expr: `max by (job) (avg_over_time(${sel('active_users_current')}[${t.UnusualUserActivity.window}]))
  > ${t.UnusualUserActivity.factor} * max by (job) (avg_over_time(${sel('active_users_current')}[${t.UnusualUserActivity.window}] offset 1d))
and on (job)
max by (job) (avg_over_time(${sel('active_users_current')}[${t.UnusualUserActivity.window}] offset 1d)) >= ${t.UnusualUserActivity.minUsersYesterday}`,
          for: t.UnusualUserActivity.for,
          severity: 'info',
          team: 'product',
          summary: 'Unusual user activity on {{ $labels.job }}',
          description: `{{ printf \`%.0f\` $value }} active users on average over ${last(t.UnusualUserActivity.window)} on {{ $labels.job }}, over ${t.UnusualUserActivity.factor} times the same time yesterday.`,
        },
      ],
    },
    {
      name: 'system_resources',
      rules: [
        {
          alert: 'DatabaseConnectionPoolExhausted',
          why: 'Per process: each instance has its own pool, a sum would hide one starved instance.',
          expr: `max by (job, instance, pool) (${sel('db_connection_pool_usage')})
  / on (job, instance, pool)
max by (job, instance, pool) (${sel('db_connection_pool_size')})
> ${t.DatabaseConnectionPoolExhausted.usageRatio}`,
          for: t.DatabaseConnectionPoolExhausted.for,
          severity: 'critical',
          team: 'database',
          summary: 'Database pool {{ $labels.pool }} nearly exhausted on {{ $labels.instance }}',
          description: `{{ $value | humanizePercentage }} of pool {{ $labels.pool }} on {{ $labels.instance }} ({{ $labels.job }}) is checked out (threshold ${pct(t.DatabaseConnectionPoolExhausted.usageRatio)}).`,
        },
        {
          alert: 'RedisHighMemoryUsage',
          expr: `max by (job) (${sel('redis_memory_usage_ratio')}) > ${t.RedisHighMemoryUsage.memoryRatio}`,
          for: t.RedisHighMemoryUsage.for,
          severity: 'warning',
          team: 'cache',
          summary: 'Redis memory usage high for {{ $labels.job }}',
          description: `Redis used by {{ $labels.job }} is at {{ $value | humanizePercentage }} of its memory limit (threshold ${pct(t.RedisHighMemoryUsage.memoryRatio)}).`,
        },
      ],
    },
    {
      name: 'database',
      rules: [
        {
          alert: 'DatabaseDeadlocks',
          expr: `sum by (job) (increase(${sel('db_deadlocks_total')}[${t.DatabaseDeadlocks.window}])) > ${t.DatabaseDeadlocks.max}`,
          severity: 'warning',
          team: 'database',
          summary: 'Database deadlocks on {{ $labels.job }}',
          description: `{{ printf \`%.0f\` $value }} queries of {{ $labels.job }} failed with a deadlock in ${last(t.DatabaseDeadlocks.window)} (threshold ${t.DatabaseDeadlocks.max}).`,
        },
        {
          alert: 'SlowQuerySurge',
          why: `A surge: over ${t.SlowQuerySurge.minPerSecond} slow queries a second and ${t.SlowQuerySurge.factor} times the hour before (0 when that hour\nhad none), once the job has an hour before (as ApplicationErrorSpike: a fresh start\nis not a surge).`,
          expr: surge('db_slow_queries_total', t.SlowQuerySurge),
          for: t.SlowQuerySurge.for,
          severity: 'warning',
          team: 'database',
          summary: 'Surge of slow database queries on {{ $labels.job }}',
          description: `{{ $labels.job }} runs {{ printf \`%.2f\` $value }} slow queries per second over ${last(t.SlowQuerySurge.window)}, over ${t.SlowQuerySurge.factor} times the hour before.`,
        },
      ],
    },
    {
      name: 'errors',
      rules: [
        {
          alert: 'ApplicationErrorSpike',
          why: `A surge: over ${t.ApplicationErrorSpike.minPerSecond} errors a second and ${t.ApplicationErrorSpike.factor} times the hour before (0 when that hour had\nnone). Only once the job has an hour before, i.e. system_info existed an hour before the\nwindow: rate(x[1h]) divides by the whole hour, so a job started 10 minutes ago would\ncompare its usual errors with a twelfth of themselves and page on every fresh start.`,
          expr: surge('application_errors_total', t.ApplicationErrorSpike),
          for: t.ApplicationErrorSpike.for,
          severity: 'warning',
          team: 'platform',
          summary: 'Application error spike on {{ $labels.job }}',
          description: `{{ $labels.job }} records {{ printf \`%.2f\` $value }} application errors per second over ${last(t.ApplicationErrorSpike.window)}, over ${t.ApplicationErrorSpike.factor} times the hour before.`,
        },
        {
          alert: 'PaymentFailureSpike',
          expr: `${countIncludingNew('job, provider', 'payment_failures_total', t.PaymentFailureSpike.window)} >= ${t.PaymentFailureSpike.min}`,
          severity: 'warning',
          team: 'product',
          summary: 'Payments failing with {{ $labels.provider }}',
          description: `{{ printf \`%.0f\` $value }} payments through {{ $labels.provider }} failed on {{ $labels.job }} in ${last(t.PaymentFailureSpike.window)} (threshold ${t.PaymentFailureSpike.min}).`,
        },
        {
          alert: 'FileUploadFailureSpike',
          expr: `${countIncludingNew('job', 'file_upload_failures_total', t.FileUploadFailureSpike.window)} >= ${t.FileUploadFailureSpike.min}`,
          severity: 'warning',
          team: 'platform',
          summary: 'File uploads failing on {{ $labels.job }}',
          description: `{{ printf \`%.0f\` $value }} file uploads failed on {{ $labels.job }} in ${last(t.FileUploadFailureSpike.window)} (threshold ${t.FileUploadFailureSpike.min}).`,
        },
      ],
    },
    {
      name: 'security',
      rules: [
        {
          alert: 'HighLoginFailureRate',
          why: 'Summed over instances: a brute force spread by the load balancer is still one attack.',
          expr: `sum by (job) (rate(${sel('login_failures_total')}[${t.HighLoginFailureRate.window}])) > ${t.HighLoginFailureRate.perSecond}`,
          for: t.HighLoginFailureRate.for,
          severity: 'warning',
          team: 'security',
          summary: 'High login failure rate on {{ $labels.job }}',
          description: `{{ printf \`%.1f\` $value }} failed logins per second on {{ $labels.job }} over ${last(t.HighLoginFailureRate.window)} (threshold ${t.HighLoginFailureRate.perSecond}/s).`,
        },
        {
          alert: 'APIAbuseDetected',
          expr: `${countIncludingNew('job, rule', 'api_abuse_detected_total', t.APIAbuseDetected.window)} > 0`,
          severity: 'critical',
          team: 'security',
          summary: 'API abuse detected on {{ $labels.job }} (rule {{ $labels.rule }})',
          description: `Abuse rule {{ $labels.rule }} matched {{ printf \`%.0f\` $value }} times on {{ $labels.job }} in ${last(t.APIAbuseDetected.window)}.`,
        },
        {
          alert: 'SuspiciousAccessDetected',
          expr: `${countIncludingNew('job, pattern', 'suspicious_access_patterns_total', t.SuspiciousAccessDetected.window)} > 0`,
          severity: 'warning',
          team: 'security',
          summary: 'Suspicious access on {{ $labels.job }} ({{ $labels.pattern }})',
          description: `Pattern {{ $labels.pattern }} was seen {{ printf \`%.0f\` $value }} times on {{ $labels.job }} in ${last(t.SuspiciousAccessDetected.window)}.`,
        },
      ],
    },
    {
      name: 'availability',
      rules: [
        {
          alert: 'ExporterDown',
          why: 'The app and the alert bridge: a bridge that is down delivers no notification.',
          expr: `(up{${cfg.jobSelector}} or up{${cfg.bridgeJobSelector}}) == 0`,
          for: t.ExporterDown.for,
          severity: 'critical',
          team: 'platform',
          summary: '{{ $labels.job }} target {{ $labels.instance }} is down',
          description: `Prometheus could not scrape {{ $labels.instance }} ({{ $labels.job }}) for over ${human(t.ExporterDown.for)}.`,
        },
        {
          alert: 'MetricsScrapeAbsent',
          why: 'No target at all (service discovery lost it, or every pod is gone): every other\nbizmon alert is blind, and ExporterDown cannot fire without an `up` series.',
          expr: `absent(up{${cfg.jobSelector}})`,
          for: t.MetricsScrapeAbsent.for,
          severity: 'critical',
          team: 'platform',
          summary: 'No bizmon scrape target',
          description: `Prometheus has had no target for job {{ $labels.job }} for ${human(t.MetricsScrapeAbsent.for)}; bizmon alerts cannot fire.`,
        },
      ],
    },
    {
      // Past one Prometheus (deploy/README.md, "Dead agents"): the agents evaluate no rules, so
      // the store watches them through the series they write about themselves. Silent in a
      // setup without agents: there is no such series.
      name: 'remote_write',
      rules: [
        {
          alert: 'RemoteWriteAgentDown',
          why: `An agent that wrote within ${t.RemoteWriteAgentDown.forgetAfter} but not within ${t.RemoteWriteAgentDown.silentFor}: dead, or cut off from the store. Its\nlast samples would otherwise look current for the 5-minute lookback, so ExporterDown\nand MetricsScrapeAbsent stay silent for its targets.`,
          expr: `group by (${agent}) (last_over_time(${agentSel('up')}[${t.RemoteWriteAgentDown.forgetAfter}]))
unless on (${agent})
group by (${agent}) (present_over_time(${agentSel('up')}[${t.RemoteWriteAgentDown.silentFor}]))`,
          for: t.RemoteWriteAgentDown.for,
          severity: 'critical',
          team: 'platform',
          summary: 'Prometheus agent stopped writing ({{ $labels.cluster }})',
          description: `No sample from the Prometheus agent of ${agentName} for over ${human(t.RemoteWriteAgentDown.silentFor)}: the targets it scrapes are unwatched.`,
        },
        {
          alert: 'RemoteWriteFailures',
          why: 'Samples the store refused for good (4xx: out of order, too old, limits); they are lost.\nAn agent whose writes all fail sends none of these either: RemoteWriteAgentDown.',
          expr: `(
    sum by (${agent}, remote_name) (rate(${agentSel('prometheus_remote_storage_samples_failed_total')}[${t.RemoteWriteFailures.window}]))
  /
    sum by (${agent}, remote_name) (
        rate(${agentSel('prometheus_remote_storage_samples_failed_total')}[${t.RemoteWriteFailures.window}])
      +
        rate(${agentSel('prometheus_remote_storage_samples_total')}[${t.RemoteWriteFailures.window}])
    )
) > ${t.RemoteWriteFailures.failedRatio}`,
          for: t.RemoteWriteFailures.for,
          severity: 'warning',
          team: 'platform',
          summary: 'Remote write failing from {{ $labels.cluster }}',
          description: `{{ $value | humanizePercentage }} of the samples the agent of ${agentName} sent to {{ $labels.remote_name }} failed over ${last(t.RemoteWriteFailures.window)} (threshold ${pct(t.RemoteWriteFailures.failedRatio)}).`,
        },
        {
          alert: 'RemoteWriteBehind',
          why: 'Newest sample in the WAL minus newest sample sent: how late the store sees this agent.',
          expr: `(
    max by (${agent}) (max_over_time(${agentSel('prometheus_remote_storage_highest_timestamp_in_seconds')}[${t.RemoteWriteBehind.window}]))
  - on (${agent}) group_right
    max by (${agent}, remote_name) (max_over_time(${agentSel('prometheus_remote_storage_queue_highest_sent_timestamp_seconds')}[${t.RemoteWriteBehind.window}]))
) > ${t.RemoteWriteBehind.lagSeconds}`,
          for: t.RemoteWriteBehind.for,
          severity: 'warning',
          team: 'platform',
          summary: 'Remote write falling behind from {{ $labels.cluster }}',
          description: `The agent of ${agentName} is {{ $value | humanizeDuration }} behind in writing to {{ $labels.remote_name }} (threshold ${human(duration(t.RemoteWriteBehind.lagSeconds))}).`,
        },
      ],
    },
  ];
}

const HEADER = `Generated by \`npm run deploy:generate\` from deploy/alerts/thresholds.ts and deploy/config.ts.
Do not edit: change the thresholds in deploy/config.ts and regenerate.

Tuned for a 15 s scrape and 15 s evaluation interval (deploy/prometheus/prometheus.yml).
Critical alerts are firing within 2 minutes of a fault's start; the math is in
deploy/README.md and deploy/prometheus/tests/ proves it with promtool.

Rules that divide always aggregate both sides first (SEED.md section 6): a ratio of two
vectors with different label sets divides each failing series by itself and fires at "100%"
on a single error. Counts over labelled counters also look at series that appeared inside the
window (\`x unless x offset <window>\`): such a series starts at its first event, so rate() and
increase() alone would not see that event.`;

/** The rule file's text, comments included. */
export function alertsRulesFile(cfg: DeployConfig = config): string {
  const groups = thresholdGroups(cfg);
  const doc = new Document({
    groups: groups.map((g) => ({
      name: g.name,
      rules: g.rules.map((r) => ({
        alert: r.alert,
        expr: r.expr + '\n',
        ...(r.for === undefined ? {} : { for: r.for }),
        labels: { severity: r.severity, team: r.team },
        annotations: {
          summary: r.summary,
          description: r.description,
          runbook_url: runbookUrl(r.alert, cfg),
        },
      })),
    })),
  });
  doc.commentBefore = HEADER.split('\n')
    .map((l) => (l === '' ? '' : ` ${l}`))
    .join('\n');
  const groupSeq = doc.get('groups');
  if (isSeq(groupSeq)) {
    groupSeq.items.forEach((g, gi) => {
      const rules = isMap(g) ? g.get('rules') : undefined;
      if (!isSeq(rules)) return;
      rules.items.forEach((rule, ri) => {
        const why = groups[gi]!.rules[ri]!.why;
        const pair = isMap(rule)
          ? rule.items.find((p) => isScalar(p.key) && p.key.value === 'expr')
          : undefined;
        if (why !== undefined && pair !== undefined && isScalar(pair.key)) {
          pair.key.commentBefore = why
            .split('\n')
            .map((l) => ` ${l}`)
            .join('\n');
        }
      });
    });
  }
  return doc.toString({ lineWidth: 0 });
}
