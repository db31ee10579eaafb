/**
 * The SLO rule file (deploy/prometheus/rules/bizmon-slo.rules.yml), in the shapes Sloth and
 * Pyrra generate: an error-ratio recording per window (`slo:sli_error:ratio_rate<window>`), the
 * period's error budget, and two `ErrorBudgetBurn` alerts per SLO (page and ticket), plus a
 * low-traffic guard and `ErrorBudgetBurnAbsent` for an SLI without data.
 */
import { stringify } from 'yaml';
import { config, runbookUrl } from '../config';
import { burnPairs, errorBudget, guardWindow, tidy, windows, type BurnPair } from './policy';
import type { Slo } from './specs';

export const SLO_RULES_FILE = 'bizmon-slo.rules.yml';

/** A rule as the YAML holds it. */
export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Group {
  name: string;
  interval?: string;
  rules: Rule[];
}

export const errorRatio = (window: string) => `slo:sli_error:ratio_rate${window}`;
export const badEvents = (window: string) => `slo:sli_bad_events:increase${window}`;
export const OBJECTIVE = 'slo:objective:ratio';
export const ERROR_BUDGET = 'slo:error_budget:ratio';
export const BUDGET_REMAINING = 'slo:period_error_budget_remaining:ratio';

function percent(ratio: number): string {
  return `${tidy(ratio * 100)} %`;
}

/** `job={{ $labels.job }}, service={{ $labels.service }}` for the SLO's groups. */
function where(slo: Slo): string {
  return slo.sli.by.map((l) => `${l} {{ $labels.${l} }}`).join(', ');
}

function pairExpr(slo: Slo, pair: BurnPair): string {
  const s = `{slo="${slo.name}"}`;
  const budget = errorBudget(slo);
  return [
    `${errorRatio(pair.short)}${s} / ${budget} > ${pair.factor}`,
    `and ${errorRatio(pair.long)}${s} / ${budget} > ${pair.factor}`,
    `and ${badEvents(guardWindow(pair))}${s} >= ${config.slo.minBadEvents}`,
    `and on (job) max by (job) (system_info{${config.jobSelector}} offset ${config.slo.minHistory})`,
  ].join('\n');
}

function burnAlert(slo: Slo, severity: 'critical' | 'warning'): Rule {
  const pairs = burnPairs(slo).filter((p) => p.severity === severity);
  const indent = (text: string) => text.replace(/^/gm, '  ');
  const expr = pairs.map((p) => `(\n${indent(pairExpr(slo, p))}\n)`).join('\nor\n');
  const promise = pairs
    .map(
      (p) =>
        `${percent(p.budgetShare)} of it within ${p.long} (${p.factor}× over ${p.long} and ${p.short})`,
    )
    .join(' or ');
  return {
    alert: 'ErrorBudgetBurn',
    expr: expr + '\n',
    labels: { severity, team: slo.team, slo: slo.name },
    annotations: {
      summary: `${slo.title} SLO: error budget burning ${severity === 'critical' ? 'fast' : 'steadily'} on ${where(slo)}`,
      // No $value: promtool compares annotations exactly, and the windows say enough.
      description:
        `${where(slo)} is spending the ${slo.period} error budget of ${slo.name} ` +
        `(${percent(slo.objective)} ${slo.sli.good}) too fast: at this rate ${promise} would be gone.`,
      runbook_url: runbookUrl('ErrorBudgetBurn'),
    },
  };
}

function absentAlert(slo: Slo): Rule {
  return {
    alert: 'ErrorBudgetBurnAbsent',
    expr: `absent(${errorRatio(windows(slo)[0]!)}{slo="${slo.name}",${config.jobSelector}})\n`,
    for: config.slo.absentFor,
    labels: { severity: 'warning', team: slo.team, slo: slo.name },
    annotations: {
      summary: `${slo.title} SLO has no data`,
      description: `No ${slo.sli.metrics.join(', ')} series for {{ $labels.job }} for ${config.slo.absentFor}: the ${slo.name} SLO cannot alert.`,
      runbook_url: runbookUrl('ErrorBudgetBurnAbsent'),
    },
  };
}

export function sloGroups(slo: Slo): Group[] {
  const labels = { slo: slo.name };
  const sli = slo.sli;
  const guards = [...new Set(burnPairs(slo).map(guardWindow))];
  return [
    {
      name: `slo-${slo.name}-sli`,
      rules: [
        ...windows(slo).map((w) => ({
          record: errorRatio(w),
          expr: `${sli.bad('rate', w)} / ${sli.total('rate', w)}\n`,
          labels,
        })),
        ...guards.map((w) => ({
          record: badEvents(w),
          expr: `${sli.bad('increase', w)}\n`,
          labels,
        })),
      ],
    },
    {
      // The whole period from raw counters is costly, so not every 15 s; but under the 5-minute
      // lookback with room to spare, or the recorded series would flicker out between runs.
      name: `slo-${slo.name}-budget`,
      interval: '2m',
      rules: [
        { record: OBJECTIVE, expr: `vector(${slo.objective})`, labels },
        { record: ERROR_BUDGET, expr: `vector(${errorBudget(slo)})`, labels },
        {
          record: errorRatio(slo.period),
          expr: `${sli.bad('increase', slo.period)} / ${sli.total('increase', slo.period)}\n`,
          labels,
        },
        {
          record: BUDGET_REMAINING,
          expr: `1 - ${errorRatio(slo.period)}{slo="${slo.name}"} / ${errorBudget(slo)}`,
          labels,
        },
      ],
    },
    {
      name: `slo-${slo.name}-alerts`,
      rules: [burnAlert(slo, 'critical'), burnAlert(slo, 'warning'), absentAlert(slo)],
    },
  ];
}

/** The rule file's text. */
export function sloRulesFile(all: readonly Slo[]): string {
  const header = [
    '# Generated by `npm run deploy:generate` from deploy/slo/specs.ts and deploy/config.ts.',
    '# Do not edit: change the specs or the config and regenerate.',
    '#',
    '# Multi-window, multi-burn-rate alerts (Google SRE workbook, ch. 5). Both windows of a pair',
    '# must exceed the burn-rate factor; the pairs are ORed. Page (critical): 2 % of the period',
    '# budget in 1 h (5m and 1h windows) or 5 % in 6 h (30m and 6h). Ticket (warning): 10 % in',
    `# 3 d (6h and 3d). A pair also needs ${config.slo.minBadEvents} bad events in its long window (6h for the ticket)`,
    `# and a job that existed ${config.slo.minHistory} ago (windows over younger data are shorter than they say).`,
    '',
  ].join('\n');
  return header + stringify({ groups: all.flatMap(sloGroups) }, { lineWidth: 0 });
}
