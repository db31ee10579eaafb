/**
 * The threshold alerts (prometheus/rules/bizmon-alerts.rules.yml): each number comes from
 * `config.thresholds` and is written into both the expression and the description, and
 * every `runbook_url` from `config.runbookBaseUrl`.
 */
import { Document, isMap, isScalar, isSeq } from 'yaml';
import { config, runbookUrl, type Team } from '../config';

export const ALERTS_RULES_FILE = 'bizmon-alerts.rules.yml';

const t = config.thresholds;

interface ThresholdAlert {
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

/** `0.05` → `5%` as the descriptions print thresholds. */
function pct(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(10))}%`;
}

/** Counts over labelled counters that also see series born inside the window. */
function countIncludingNew(by: string, metric: string, window: string): string {
  return `sum by (${by}) (
    (increase(${metric}[${window}]) and ${metric} offset ${window})
  or
    (${metric} unless ${metric} offset ${window})
)`;
}

/** Over `min` a second and `factor` times the hour before, once the job has an hour before. */
function surge(metric: string, min: number, factor: number): string {
  return `sum by (job) (rate(${metric}[5m])) > ${min}
and on (job)
sum by (job) (rate(${metric}[5m]))
  > ${factor} * (
        sum by (job) (rate(${metric}[1h] offset 5m))
      or on (job)
        max by (job) (system_info offset 65m) * 0
    )
and on (job)
max by (job) (system_info offset 65m)`;
}

const groups: readonly { name: string; rules: readonly ThresholdAlert[] }[] = [
  {
    name: 'business_critical',
    rules: [
      {
        alert: 'HighErrorRate',
        why: `1m window + ${t.HighErrorRate.for} \`for\`: a 10 % error rate fires 75 s after its first scrape (README).\nAt least ${t.HighErrorRate.minErrors} errors in the window, so a lone 5xx on a quiet service never pages.`,
        expr: `(
    sum by (job) (rate(http_requests_total{status_code=~"5.."}[1m]))
  /
    sum by (job) (rate(http_requests_total[1m]))
) > ${t.HighErrorRate.errorRatio}
and on (job)
sum by (job) (increase(http_requests_total{status_code=~"5.."}[1m])) >= ${t.HighErrorRate.minErrors}`,
        for: t.HighErrorRate.for,
        severity: 'critical',
        team: 'platform',
        summary: 'High HTTP error rate on {{ $labels.job }}',
        description: `{{ $value | humanizePercentage }} of requests to {{ $labels.job }} answered 5xx over the last minute (threshold ${pct(t.HighErrorRate.errorRatio)}).`,
      },
      {
        alert: 'SlowResponseTime',
        expr: `histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m]))) > ${t.SlowResponseTime.p95Seconds}
and on (job)
sum by (job) (rate(http_request_duration_seconds_count[5m])) > ${t.SlowResponseTime.minRequestsPerSecond}`,
        for: t.SlowResponseTime.for,
        severity: 'warning',
        team: 'platform',
        summary: 'Slow HTTP responses on {{ $labels.job }}',
        description: `p95 response time of {{ $labels.job }} is {{ $value | humanizeDuration }} over the last 5 minutes (threshold ${t.SlowResponseTime.p95Seconds}s).`,
      },
      {
        alert: 'AIServiceHighFailureRate',
        why: 'Failed share of finished tasks (success + failed); pending counts submissions.',
        expr: `(
    sum by (job, service) (rate(ai_tasks_total{status="failed"}[1m]))
  /
    sum by (job, service) (rate(ai_tasks_total{status=~"success|failed"}[1m]))
) > ${t.AIServiceHighFailureRate.failedRatio}
and on (job, service)
sum by (job, service) (increase(ai_tasks_total{status="failed"}[1m])) >= ${t.AIServiceHighFailureRate.minFailures}`,
        for: t.AIServiceHighFailureRate.for,
        severity: 'critical',
        team: 'ai_services',
        summary: 'AI service {{ $labels.service }} is failing',
        description: `{{ $value | humanizePercentage }} of finished {{ $labels.service }} tasks failed over the last minute on {{ $labels.job }} (threshold ${pct(t.AIServiceHighFailureRate.failedRatio)}).`,
      },
      {
        alert: 'LowCacheHitRate',
        why: 'From the counters rather than the per-process cache_hit_rate gauge, so instances are\nweighted by their traffic; `or ... * 0` keeps a cache with misses and no hits at 0 %.',
        expr: `(
    (
        sum by (job) (rate(cache_operations_total{result="hit"}[5m]))
      or
        sum by (job) (rate(cache_operations_total{result="miss"}[5m])) * 0
    )
  /
    sum by (job) (rate(cache_operations_total{result=~"hit|miss"}[5m]))
) < ${t.LowCacheHitRate.hitRatio}
and on (job)
sum by (job) (rate(cache_operations_total{result=~"hit|miss"}[5m])) > ${t.LowCacheHitRate.minLookupsPerSecond}`,
        for: t.LowCacheHitRate.for,
        severity: 'warning',
        team: 'cache',
        summary: 'Low cache hit rate on {{ $labels.job }}',
        description: `Cache hit rate of {{ $labels.job }} is {{ $value | humanizePercentage }} over the last 5 minutes (threshold ${pct(t.LowCacheHitRate.hitRatio)}).`,
      },
      {
        alert: 'UnusualUserActivity',
        why: 'max, not sum: with BIZMON_REDIS_URL every instance reports the same global count.',
        expr: `max by (job) (avg_over_time(active_users_current[1h]))
  > ${t.UnusualUserActivity.factor} * max by (job) (avg_over_time(active_users_current[1h] offset 1d))
and on (job)
max by (job) (avg_over_time(active_users_current[1h] offset 1d)) >= ${t.UnusualUserActivity.minUsersYesterday}`,
        for: t.UnusualUserActivity.for,
        severity: 'info',
        team: 'product',
        summary: 'Unusual user activity on {{ $labels.job }}',
        description: `{{ printf \`%.0f\` $value }} active users on average over the last hour on {{ $labels.job }}, over ${t.UnusualUserActivity.factor} times the same hour yesterday.`,
      },
    ],
  },
  {
    name: 'system_resources',
    rules: [
      {
        alert: 'DatabaseConnectionPoolExhausted',
        why: 'Per process: each instance has its own pool, a sum would hide one starved instance.',
        expr: `max by (job, instance, pool) (db_connection_pool_usage)
  / on (job, instance, pool)
max by (job, instance, pool) (db_connection_pool_size)
> ${t.DatabaseConnectionPoolExhausted.usageRatio}`,
        for: t.DatabaseConnectionPoolExhausted.for,
        severity: 'critical',
        team: 'database',
        summary: 'Database pool {{ $labels.pool }} nearly exhausted on {{ $labels.instance }}',
        description: `{{ $value | humanizePercentage }} of pool {{ $labels.pool }} on {{ $labels.instance }} ({{ $labels.job }}) is checked out (threshold ${pct(t.DatabaseConnectionPoolExhausted.usageRatio)}).`,
      },
      {
        alert: 'RedisHighMemoryUsage',
        expr: `max by (job) (redis_memory_usage_ratio) > ${t.RedisHighMemoryUsage.memoryRatio}`,
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
        expr: `sum by (job) (increase(db_deadlocks_total[5m])) > ${t.DatabaseDeadlocks.maxIn5m}`,
        severity: 'warning',
        team: 'database',
        summary: 'Database deadlocks on {{ $labels.job }}',
        description: `{{ printf \`%.0f\` $value }} queries of {{ $labels.job }} failed with a deadlock in the last 5 minutes (threshold ${t.DatabaseDeadlocks.maxIn5m}).`,
      },
      {
        alert: 'SlowQuerySurge',
        why: `A surge: over ${t.SlowQuerySurge.minPerSecond * 60} slow queries a minute and ${t.SlowQuerySurge.factor} times the hour before (0 when that hour\nhad none), once the job has an hour before (as ApplicationErrorSpike: a fresh start\nis not a surge).`,
        expr: surge(
          'db_slow_queries_total',
          t.SlowQuerySurge.minPerSecond,
          t.SlowQuerySurge.factor,
        ),
        for: t.SlowQuerySurge.for,
        severity: 'warning',
        team: 'database',
        summary: 'Surge of slow database queries on {{ $labels.job }}',
        description: `{{ $labels.job }} runs {{ printf \`%.2f\` $value }} slow queries per second over the last 5 minutes, over ${t.SlowQuerySurge.factor} times the hour before.`,
      },
    ],
  },
  {
    name: 'errors',
    rules: [
      {
        alert: 'ApplicationErrorSpike',
        why: `A surge: over ${t.ApplicationErrorSpike.minPerSecond} errors a second and ${t.ApplicationErrorSpike.factor} times the hour before (0 when that hour had\nnone). Only once the job has an hour before, i.e. system_info existed 65 minutes ago:\nrate(x[1h]) divides by the whole hour, so a job started 10 minutes ago would compare\nits usual errors with a twelfth of themselves and page on every fresh start.`,
        expr: surge(
          'application_errors_total',
          t.ApplicationErrorSpike.minPerSecond,
          t.ApplicationErrorSpike.factor,
        ),
        for: t.ApplicationErrorSpike.for,
        severity: 'warning',
        team: 'platform',
        summary: 'Application error spike on {{ $labels.job }}',
        description: `{{ $labels.job }} records {{ printf \`%.2f\` $value }} application errors per second over the last 5 minutes, over ${t.ApplicationErrorSpike.factor} times the hour before.`,
      },
      {
        alert: 'PaymentFailureSpike',
        expr: `${countIncludingNew('job, provider', 'payment_failures_total', '5m')} >= ${t.PaymentFailureSpike.minIn5m}`,
        severity: 'warning',
        team: 'product',
        summary: 'Payments failing with {{ $labels.provider }}',
        description: `{{ printf \`%.0f\` $value }} payments through {{ $labels.provider }} failed on {{ $labels.job }} in the last 5 minutes (threshold ${t.PaymentFailureSpike.minIn5m}).`,
      },
      {
        alert: 'FileUploadFailureSpike',
        expr: `${countIncludingNew('job', 'file_upload_failures_total', '5m')} >= ${t.FileUploadFailureSpike.minIn5m}`,
        severity: 'warning',
        team: 'platform',
        summary: 'File uploads failing on {{ $labels.job }}',
        description: `{{ printf \`%.0f\` $value }} file uploads failed on {{ $labels.job }} in the last 5 minutes (threshold ${t.FileUploadFailureSpike.minIn5m}).`,
      },
    ],
  },
  {
    name: 'security',
    rules: [
      {
        alert: 'HighLoginFailureRate',
        why: 'Summed over instances: a brute force spread by the load balancer is still one attack.',
        expr: `sum by (job) (rate(login_failures_total[5m])) > ${t.HighLoginFailureRate.perSecond}`,
        for: t.HighLoginFailureRate.for,
        severity: 'warning',
        team: 'security',
        summary: 'High login failure rate on {{ $labels.job }}',
        description: `{{ printf \`%.1f\` $value }} failed logins per second on {{ $labels.job }} over the last 5 minutes (threshold ${t.HighLoginFailureRate.perSecond}/s).`,
      },
      {
        alert: 'APIAbuseDetected',
        expr: `${countIncludingNew('job, rule', 'api_abuse_detected_total', '1m')} > 0`,
        severity: 'critical',
        team: 'security',
        summary: 'API abuse detected on {{ $labels.job }} (rule {{ $labels.rule }})',
        description:
          'Abuse rule {{ $labels.rule }} matched {{ printf `%.0f` $value }} times on {{ $labels.job }} in the last minute.',
      },
      {
        alert: 'SuspiciousAccessDetected',
        expr: `${countIncludingNew('job, pattern', 'suspicious_access_patterns_total', '5m')} > 0`,
        severity: 'warning',
        team: 'security',
        summary: 'Suspicious access on {{ $labels.job }} ({{ $labels.pattern }})',
        description:
          'Pattern {{ $labels.pattern }} was seen {{ printf `%.0f` $value }} times on {{ $labels.job }} in the last 5 minutes.',
      },
    ],
  },
  {
    name: 'availability',
    rules: [
      {
        alert: 'ExporterDown',
        expr: 'up == 0',
        for: t.ExporterDown.for,
        severity: 'critical',
        team: 'platform',
        summary: '{{ $labels.job }} target {{ $labels.instance }} is down',
        description: `Prometheus could not scrape {{ $labels.instance }} ({{ $labels.job }}) for over ${t.ExporterDown.for === '1m' ? 'a minute' : t.ExporterDown.for}.`,
      },
      {
        alert: 'MetricsScrapeAbsent',
        why: 'No target at all (service discovery lost it, or every pod is gone): every other\nbizmon alert is blind, and ExporterDown cannot fire without an `up` series.',
        expr: `absent(up{${config.jobSelector}})`,
        for: t.MetricsScrapeAbsent.for,
        severity: 'critical',
        team: 'platform',
        summary: 'No bizmon scrape target',
        description: `Prometheus has had no target for job {{ $labels.job }} for ${t.MetricsScrapeAbsent.for === '1m' ? 'a minute' : t.MetricsScrapeAbsent.for}; bizmon alerts cannot fire.`,
      },
    ],
  },
];

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
export function alertsRulesFile(): string {
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
          runbook_url: runbookUrl(r.alert),
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
