import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { graph } from './panels';
import { quantile, rateBy, sel, type SeriesName } from './queries';

/** `max(<series>)` over the selected instances: the worst one, one line per statistic. */
function worst(name: SeriesName): string {
  return `max(${sel(name)})`;
}

/** `<agg> by (instance) (<series>)`: one line per instance. */
function perInstance(name: SeriesName, agg = 'max'): string {
  return `${agg} by (instance) (${sel(name)})`;
}

/**
 * The "Node.js runtime" row: the process and Node.js families (prom-client's default metrics
 * and nodejs_eventloop_utilization), present unless BIZMON_RUNTIME_METRICS=false.
 */
export function withRuntimeRow(d: dashboard.DashboardBuilder): dashboard.DashboardBuilder {
  return d
    .withRow(new dashboard.RowBuilder('Node.js runtime'))
    .withPanel(
      graph('CPU (cores)', 'short', [
        {
          expr: rateBy('instance', sel('process_cpu_seconds_total')),
          legend: '{{instance}} total',
        },
        {
          expr: rateBy('instance', sel('process_cpu_user_seconds_total')),
          legend: '{{instance}} user',
        },
        {
          expr: rateBy('instance', sel('process_cpu_system_seconds_total')),
          legend: '{{instance}} system',
        },
      ]),
    )
    .withPanel(
      graph('Event loop utilization', 'percentunit', [
        { expr: perInstance('nodejs_eventloop_utilization'), legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      graph('Event loop lag (worst instance, per scrape interval)', 's', [
        { expr: worst('nodejs_eventloop_lag_max_seconds'), legend: 'max' },
        { expr: worst('nodejs_eventloop_lag_p99_seconds'), legend: 'p99' },
        { expr: worst('nodejs_eventloop_lag_p90_seconds'), legend: 'p90' },
        { expr: worst('nodejs_eventloop_lag_p50_seconds'), legend: 'p50' },
        { expr: worst('nodejs_eventloop_lag_mean_seconds'), legend: 'mean' },
        { expr: worst('nodejs_eventloop_lag_stddev_seconds'), legend: 'stddev' },
        { expr: worst('nodejs_eventloop_lag_min_seconds'), legend: 'min' },
        { expr: worst('nodejs_eventloop_lag_seconds'), legend: 'setImmediate at scrape' },
      ]),
    )
    .withPanel(
      graph('GC time per second and p99 pause by kind', 's', [
        {
          expr: rateBy('kind', sel('nodejs_gc_duration_seconds_sum')),
          legend: '{{kind}} s/s',
        },
        {
          expr: quantile(0.99, 'nodejs_gc_duration_seconds', 'kind'),
          legend: '{{kind}} p99 pause',
        },
        {
          expr: rateBy('kind', sel('nodejs_gc_duration_seconds_count')),
          legend: '{{kind}} collections/s',
        },
      ]),
    )
    .withPanel(
      graph('Memory', 'bytes', [
        { expr: perInstance('process_resident_memory_bytes'), legend: '{{instance}} RSS' },
        { expr: perInstance('process_virtual_memory_bytes'), legend: '{{instance}} virtual' },
        { expr: perInstance('process_heap_bytes'), legend: '{{instance}} data segment' },
        { expr: perInstance('nodejs_heap_size_total_bytes'), legend: '{{instance}} V8 heap' },
        { expr: perInstance('nodejs_heap_size_used_bytes'), legend: '{{instance}} V8 heap used' },
        { expr: perInstance('nodejs_external_memory_bytes'), legend: '{{instance}} external' },
      ]),
    )
    .withPanel(
      graph('V8 heap spaces (all instances)', 'bytes', [
        {
          expr: `sum by (space) (${sel('nodejs_heap_space_size_used_bytes')})`,
          legend: '{{space}} used',
        },
        {
          expr: `sum by (space) (${sel('nodejs_heap_space_size_total_bytes')})`,
          legend: '{{space}} size',
        },
        {
          expr: `sum by (space) (${sel('nodejs_heap_space_size_available_bytes')})`,
          legend: '{{space}} available',
        },
      ]),
    )
    .withPanel(
      graph('File descriptors', 'short', [
        { expr: perInstance('process_open_fds'), legend: '{{instance}} open' },
        { expr: perInstance('process_max_fds'), legend: '{{instance}} limit' },
      ]),
    )
    .withPanel(
      graph('Active handles and requests', 'short', [
        { expr: perInstance('nodejs_active_handles_total'), legend: '{{instance}} handles' },
        { expr: perInstance('nodejs_active_requests_total'), legend: '{{instance}} requests' },
      ]),
    )
    .withPanel(
      graph('Uptime', 's', [
        {
          expr: `time() - ${perInstance('process_start_time_seconds')}`,
          legend: '{{instance}}',
        },
      ]),
    )
    .withPanel(
      graph('Instances per Node.js version', 'short', [
        { expr: `count by (version) (${sel('nodejs_version_info')})`, legend: '{{version}}' },
      ]),
    );
}
