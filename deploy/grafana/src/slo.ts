import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { burnPairs, tidy, windows } from '../../slo/policy';
import { BUDGET_REMAINING, ERROR_BUDGET, OBJECTIVE, errorRatio } from '../../slo/rules';
import { slos, type Slo } from '../../slo/specs';
import { base, graph, single } from './panels';

/** A recording of one SLO, filtered by the dashboard's `$job`. */
function of(slo: Slo, name: string): string {
  return `${name}{slo="${slo.name}",job=~"$job"}`;
}

/** `job` or `service` legend of the SLO's groups (the job is picked by `$job`). */
function legend(slo: Slo, prefix = ''): string {
  const groups = slo.sli.by.filter((l) => l !== 'job');
  const names = groups.length === 0 ? ['job'] : groups;
  return `${prefix}${names.map((l) => `{{${l}}}`).join(' ')}`.trim();
}

function row(d: dashboard.DashboardBuilder, slo: Slo): dashboard.DashboardBuilder {
  const budget = `on (slo) group_left ${ERROR_BUDGET}{slo="${slo.name}"}`;
  return d
    .withRow(
      new dashboard.RowBuilder(
        `${slo.title}: ${tidy(slo.objective * 100)} % ${slo.sli.good} (${slo.name})`,
      ),
    )
    .withPanel(
      single(
        `Error budget remaining (${slo.period})`,
        'percentunit',
        { expr: of(slo, BUDGET_REMAINING), legend: legend(slo) },
        { w: 6, h: 8 },
      ),
    )
    .withPanel(
      graph(
        'Burn rate per window (1 = budget lasts the period)',
        'short',
        [
          ...windows(slo).map((w) => ({
            expr: `${of(slo, errorRatio(w))} / ${budget}`,
            legend: legend(slo, `${w} `),
          })),
          // The alert lines: each pair fires when both of its windows are above its factor.
          ...[...new Set(burnPairs(slo).map((p) => p.factor))].map((f) => ({
            expr: `vector(${f})`,
            legend: `alert at ${f}×`,
          })),
        ],
        { w: 9, h: 8 },
      ),
    )
    .withPanel(
      graph(
        'SLI: share of good events',
        'percentunit',
        [
          { expr: `1 - ${of(slo, errorRatio('5m'))}`, legend: legend(slo, '5m ') },
          { expr: `1 - ${of(slo, errorRatio('1h'))}`, legend: legend(slo, '1h ') },
          { expr: `${OBJECTIVE}{slo="${slo.name}"}`, legend: 'objective' },
        ],
        { w: 9, h: 8 },
      ),
    );
}

/** Error budgets, burn rates and SLIs of every SLO in deploy/slo/specs.ts. */
export function slo(): dashboard.DashboardBuilder {
  return slos.reduce(
    row,
    base(
      'bizmon-slo',
      'bizmon SLOs',
      'Error budget remaining, burn rate per alert window and SLI of every SLO (deploy/slo/specs.ts).',
    ),
  );
}
