import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Every query goes to the datasource the dashboard's `$datasource` variable picks. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** One query of a panel: PromQL and its legend. */
export interface Query {
  readonly expr: string;
  readonly legend?: string;
}

function target(q: Query, refId: string): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(q.expr)
    .legendFormat(q.legend ?? '__auto')
    .refId(refId);
}

const refIds = 'ABCDEFGH';

/** Sizes in grid units: the grid is 24 wide. */
export interface Size {
  readonly w?: number;
  readonly h?: number;
}

/** A time series panel. */
export function graph(
  title: string,
  unit: string,
  queries: Query[],
  size: Size = {},
): cog.Builder<dashboard.Panel> {
  const p = new timeseries.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(size.w ?? 12)
    .height(size.h ?? 8)
    .fillOpacity(10)
    .lineWidth(1);
  queries.forEach((q, i) => p.withTarget(target(q, refIds[i]!)));
  return p;
}

/** A single-value panel showing the last value. */
export function single(
  title: string,
  unit: string,
  query: Query,
  size: Size = {},
): cog.Builder<dashboard.Panel> {
  return new stat.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(size.w ?? 6)
    .height(size.h ?? 4)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .withTarget(target(query, 'A').instant());
}

/** A pie chart of the last value of each series. */
export function pie(
  title: string,
  unit: string,
  query: Query,
  size: Size = {},
): cog.Builder<dashboard.Panel> {
  return new piechart.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(size.w ?? 8)
    .height(size.h ?? 8)
    .pieType(piechart.PieChartType.Pie)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .withTarget(target(query, 'A').instant());
}

/** The variables every bizmon dashboard has: datasource, job, instance. */
export function withStandardVariables(d: dashboard.DashboardBuilder): dashboard.DashboardBuilder {
  return d
    .withVariable(
      new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder('job')
        .label('Job')
        .datasource(DATASOURCE)
        .query('label_values(system_info, job)')
        .definition('label_values(system_info, job)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder('instance')
        .label('Instance')
        .datasource(DATASOURCE)
        .query('label_values(system_info{job=~"$job"}, instance)')
        .definition('label_values(system_info{job=~"$job"}, instance)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    );
}

/** A bizmon dashboard: standard variables, tags and the dropdown of links to the others. */
export function base(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return withStandardVariables(
    new dashboard.DashboardBuilder(title)
      .uid(uid)
      .description(description)
      .tags(['bizmon'])
      .editable()
      .refresh('30s')
      .time({ from: 'now-6h', to: 'now' })
      .timezone('browser'),
  ).link(
    new dashboard.DashboardLinkBuilder('bizmon')
      .type(dashboard.DashboardLinkType.Dashboards)
      .tags(['bizmon'])
      .asDropdown(true)
      .includeVars(true)
      .keepTime(true),
  );
}
