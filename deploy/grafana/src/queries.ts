import { catalog, type MetricName } from '@bizmon/core';

/** Catalog names of histograms, the only ones with `_bucket`, `_sum` and `_count` series. */
type HistogramName = {
  [N in MetricName]: (typeof catalog)[N]['type'] extends 'histogram' ? N : never;
}[MetricName];

/** Series name of a catalog metric; histograms need a suffix. */
export type SeriesName =
  Exclude<MetricName, HistogramName> | `${HistogramName}_${'bucket' | 'sum' | 'count'}`;

/** Names the recording rules in deploy/prometheus/rules/ define. */
export type RecordedName =
  | 'http_errors_rate'
  | 'ai_task_success_rate'
  | 'ai_task_duration_avg'
  | 'ai_service_usage_distribution'
  | 'avg_user_credits'
  | 'job:http_requests:rate5m'
  | 'job_service:ai_tasks_finished:rate5m'
  | 'job:active_users_current:max';

/** Grafana's rate window: at least four scrapes whatever the zoom. */
export const RATE = '$__rate_interval';

/**
 * A selector over one of the app's series, filtered by the dashboard's `$job` and `$instance`
 * variables; `matchers` are extra label matchers (`status_code=~"5.."`).
 */
export function sel(name: SeriesName, matchers = ''): string {
  if (!(name in catalog) && !Object.keys(catalog).some((m) => name.startsWith(`${m}_`))) {
    throw new Error(`${name} is not in the metric catalog`);
  }
  const extra = matchers === '' ? '' : `,${matchers}`;
  return `${name}{job=~"$job",instance=~"$instance"${extra}}`;
}

/** A selector over a recording rule's output (aggregated per job, so no `$instance`). */
export function rec(name: RecordedName, matchers = ''): string {
  const extra = matchers === '' ? '' : `,${matchers}`;
  return `${name}{job=~"$job"${extra}}`;
}

/** `sum by (<by>) (rate(<selector>[$__rate_interval]))`. */
export function rateBy(by: string, selector: string, window = RATE): string {
  return `sum by (${by}) (rate(${selector}[${window}]))`;
}

/** A quantile of a histogram, aggregated over instances by `by` and `le`. */
export function quantile(
  q: number,
  name: HistogramName,
  by = '',
  matchers = '',
  window = RATE,
): string {
  const groups = by === '' ? 'le' : `${by}, le`;
  return `histogram_quantile(${q}, sum by (${groups}) (rate(${sel(`${name}_bucket`, matchers)}[${window}])))`;
}

/** Aggregated numerator over aggregated denominator, 0 rather than absent with no numerator. */
export function ratio(by: string, numerator: string, denominator: string, window = RATE): string {
  const den = rateBy(by, denominator, window);
  return `(${rateBy(by, numerator, window)} or ${den} * 0) / ${den}`;
}
