/**
 * promtool scenarios for every SLO (deploy/prometheus/tests/slo-*.test.yml), generated from
 * the specs so that a new SLO is tested like the others. Each starts from two hours of healthy
 * history, as production has, at 1/budget events a minute: a burn rate of b then means b bad
 * events a minute, so the same timeline holds for every objective.
 *
 *   outage   all events fail                    page within 5 minutes
 *   burn 20  2 % errors on 99.9 %               page within the hour, not in the first 15 min
 *   burn 2   0.2 % errors on 99.9 %             ticket, never a page
 *   blip     10 minutes at burn 50, then healthy   never a page (a ticket: > 1× over 6 h)
 *   trickle  a request every 10 minutes, 3 fail  neither page nor ticket (low-traffic guard)
 *   young    outage 10 minutes after the job starts  no page before the job has 1 h of history
 *   quiet    1 request a minute, all failing    page once 10 have failed (the guard only waits)
 */
import { stringify } from 'yaml';
import { config } from '../config';
import { SLO_RULES_FILE, sloGroups } from './rules';
import { errorBudget } from './policy';
import type { SeriesLabels } from './sli';
import type { Slo } from './specs';

/** Healthy history before every fault, in minutes. */
export const HEALTHY_MINUTES = 120;

/** A stretch of a scenario: `minutes` long with `good` and `bad` events per minute. */
interface Stretch {
  readonly minutes: number;
  readonly good: number;
  readonly bad: number;
}

type Severity = 'critical' | 'warning';

interface Scenario {
  readonly name: string;
  /** Minute the job starts (no series before); 0 unless the scenario is about a young job. */
  readonly bornAt?: number;
  /** Built for an SLO whose traffic is `rate` events a minute. */
  readonly stretches: (rate: number) => Stretch[];
  /** Minutes after the start of the fault → ErrorBudgetBurn severities firing then. */
  readonly expect: readonly (readonly [number, readonly Severity[]])[];
}

const healthy = (rate: number, minutes = HEALTHY_MINUTES): Stretch => ({
  minutes,
  good: rate,
  bad: 0,
});
const burning = (rate: number, burn: number, minutes: number): Stretch => ({
  minutes,
  good: rate - burn,
  bad: burn,
});

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'total outage pages within 5 minutes',
    stretches: (r) => [healthy(r), { minutes: 10, good: 0, bad: r }],
    expect: [
      [0, []],
      [5, ['critical', 'warning']],
    ],
  },
  {
    // Workbook detection time of the 1h pair: 1 h × 14.4 / 20 ≈ 43 min.
    name: 'burn rate 20 (2 % errors on 99.9 %) pages within the hour, not in its first 15 minutes',
    stretches: (r) => [healthy(r), burning(r, 20, 60)],
    expect: [
      [0, []],
      [15, ['warning']],
      [60, ['critical', 'warning']],
    ],
  },
  {
    // The ticket needs the 6h window's error share above the budget: after as long at burn 2
    // as the healthy history before it (2 h).
    name: 'burn rate 2 (0.2 % errors on 99.9 %) opens a ticket and never pages',
    stretches: (r) => [healthy(r), burning(r, 2, 240)],
    expect: [
      ...[15, 30, 45, 60, 75, 90].map((m) => [m, []] as const),
      ...[150, 180, 210, 240].map((m) => [m, ['warning']] as const),
    ],
  },
  {
    // 10 minutes at burn 50 is 1.2 % of a 30-day budget: no page; over 6 h it is more than
    // burn 1, so the ticket opens and stays while the blip is in the 6h window.
    name: 'a 10-minute blip at burn 50 between healthy hours never pages',
    stretches: (r) => [healthy(r), burning(r, 50, 10), healthy(r, 110)],
    expect: [5, 10, 15, 20, 30, 60, 90, 120].map((m) => [m, ['warning']] as const),
  },
  {
    name: 'low traffic: 3 failures among a request every 10 minutes never page',
    stretches: () => [
      { minutes: HEALTHY_MINUTES, good: 0.1, bad: 0 },
      { minutes: 60, good: 0.1, bad: 0.05 },
    ],
    expect: [10, 20, 30, 40, 50, 60].map((m) => [m, []] as const),
  },
  {
    // The history guard: a job started 10 minutes before the outage has no hour of data.
    name: 'a job younger than an hour does not page before it has an hour of history',
    bornAt: HEALTHY_MINUTES - 10,
    stretches: (r) => [healthy(r), { minutes: 60, good: 0, bad: r }],
    expect: [
      [5, []],
      [45, []],
      [55, ['critical', 'warning']],
    ],
  },
  {
    // The guard only waits for evidence: a quiet service that is really down still pages.
    name: 'a quiet service (1 request a minute) that fails completely pages once 10 requests failed',
    stretches: () => [
      { minutes: HEALTHY_MINUTES, good: 1, bad: 0 },
      { minutes: 20, good: 0, bad: 1 },
    ],
    expect: [
      [5, []],
      [15, ['critical', 'warning']],
    ],
  },
];

/** promtool's expanding notation for per-minute samples (`_` where a series does not exist yet). */
export function notation(values: readonly (number | undefined)[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < values.length) {
    const v = values[i];
    let j = i + 1;
    if (v === undefined) {
      while (j < values.length && values[j] === undefined) j++;
      out.push(j - i === 1 ? '_' : `_x${j - i}`);
    } else {
      const step = j < values.length && values[j] !== undefined ? values[j]! - v : 0;
      while (j < values.length && values[j] !== undefined && values[j]! - values[j - 1]! === step)
        j++;
      // `a+bxn` expands to n + 1 samples.
      out.push(j - i === 1 ? `${v}` : `${v}+${step}x${j - i - 1}`);
    }
    i = j;
  }
  return out.join(' ');
}

/** Cumulative counter samples, one a minute from 0, for good, bad and all events. */
function counters(
  stretches: readonly Stretch[],
): Record<'good' | 'bad' | 'all', (number | undefined)[]> {
  const good = [0];
  const bad = [0];
  for (const s of stretches) {
    for (let m = 0; m < s.minutes; m++) {
      good.push(good[good.length - 1]! + s.good);
      bad.push(bad[bad.length - 1]! + s.bad);
    }
  }
  const floor = (xs: number[]) => xs.map((x) => Math.floor(x + 1e-9));
  const g = floor(good);
  const b = floor(bad);
  return {
    good: g,
    // A labelled counter appears with its first event.
    bad: b.map((x) => (x === 0 ? undefined : x)),
    all: g.map((x, i) => x + b[i]!),
  };
}

/** Labels of the app's `system_info` in the scenarios. */
const SYSTEM_INFO: SeriesLabels = {
  service_name: 'bizmon',
  service_version: '1.0.0',
  node_version: 'v22.0.0',
  bizmon_version: '1.0.0',
};

/** Samples before `bornAt` removed (the job did not exist yet), counters restarted from 0 there. */
function born(
  values: readonly (number | undefined)[],
  bornAt = 0,
  counter = true,
): (number | undefined)[] {
  const base = counter ? (values[bornAt] ?? 0) : 0;
  return values.map((v, i) => (i < bornAt || v === undefined ? undefined : v - base));
}

function seriesText(name: string, labels: SeriesLabels): string {
  const all = { job: 'bizmon', instance: 'app-1:9464', ...labels };
  return `${name}{${Object.entries(all)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

/** The labels every alert of `slo` carries in the scenarios (the sample series' groups). */
function groupLabels(slo: Slo): Record<string, string> {
  const sample = { job: 'bizmon', ...slo.sli.samples[0]!.labels };
  return Object.fromEntries(slo.sli.by.map((l) => [l, sample[l as keyof typeof sample] ?? '']));
}

/** Annotations as Prometheus renders them for these labels (the templates only read labels). */
function rendered(
  annotations: Record<string, string> | undefined,
  labels: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(annotations ?? {}).map(([k, v]) => [
      k,
      v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, l: string) => labels[l] ?? ''),
    ]),
  );
}

function expectedAlerts(slo: Slo, alert: string, severities: readonly string[]) {
  const rules = sloGroups(slo).flatMap((g) => g.rules);
  return severities.map((severity) => {
    const rule = rules.find((r) => r.alert === alert && r.labels.severity === severity)!;
    // absent() only knows the equality matchers of its selector (slo, job), not `service`.
    const groups =
      alert === 'ErrorBudgetBurnAbsent' ? { job: groupLabels(slo).job! } : groupLabels(slo);
    const labels = { ...rule.labels, ...groups };
    return { exp_labels: labels, exp_annotations: rendered(rule.annotations, labels) };
  });
}

function absentOf(all: readonly Slo[]) {
  return all.flatMap((s) => expectedAlerts(s, 'ErrorBudgetBurnAbsent', ['warning']));
}

function minutes(m: number): string {
  return `${m}m`;
}

function scenarioTests(slo: Slo, all: readonly Slo[]) {
  const rate = Math.round(1 / errorBudget(slo));
  return SCENARIOS.map((sc) => {
    const stretches = sc.stretches(rate);
    const samples = counters(stretches);
    const end = stretches.reduce((t, s) => t + s.minutes, 0);
    const others = all.filter((o) => !o.sli.metrics.some((m) => slo.sli.metrics.includes(m)));
    return {
      name: `${slo.name}: ${sc.name}`,
      interval: '1m',
      input_series: [
        ...slo.sli.samples.map((s) => ({
          series: seriesText(s.name, s.labels),
          values: notation(born(samples[s.counts], sc.bornAt)),
        })),
        {
          series: seriesText('system_info', SYSTEM_INFO),
          values: notation(
            born(
              samples.all.map(() => 1),
              sc.bornAt,
              false,
            ),
          ),
        },
      ],
      alert_rule_test: [
        ...sc.expect.map(([m, severities]) => ({
          eval_time: minutes(HEALTHY_MINUTES + m),
          alertname: 'ErrorBudgetBurn',
          exp_alerts: expectedAlerts(slo, 'ErrorBudgetBurn', severities),
        })),
        // This SLO has data; the SLOs over other metrics have none.
        {
          eval_time: minutes(end),
          alertname: 'ErrorBudgetBurnAbsent',
          exp_alerts: absentOf(others),
        },
      ],
    };
  });
}

function file(comment: string, tests: unknown[]): string {
  const header = [
    '# Generated by `npm run deploy:generate` from deploy/slo/scenarios.ts. Do not edit.',
    ...comment.split('\n').map((l) => `# ${l}`),
    '',
  ].join('\n');
  return (
    header +
    stringify(
      { rule_files: [`../rules/${SLO_RULES_FILE}`], evaluation_interval: '1m', tests },
      { lineWidth: 0 },
    )
  );
}

/** Test file name → content: one file per SLO, and one for SLIs without data. */
export function sloTestFiles(all: readonly Slo[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const slo of all) {
    files.set(
      `slo-${slo.name}.test.yml`,
      file(
        `ErrorBudgetBurn scenarios for the ${slo.name} SLO; faults start at ${HEALTHY_MINUTES}m, after healthy history.`,
        scenarioTests(slo, all),
      ),
    );
  }
  files.set(
    'slo-absent.test.yml',
    file('ErrorBudgetBurnAbsent: scraping works but no SLI has any series.', [
      {
        name: `every SLI without data fires after ${config.slo.absentFor}`,
        interval: '1m',
        input_series: [{ series: 'up{job="bizmon",instance="app-1:9464"}', values: '1x40' }],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'ErrorBudgetBurnAbsent', exp_alerts: [] },
          { eval_time: '10m', alertname: 'ErrorBudgetBurn', exp_alerts: [] },
          { eval_time: '20m', alertname: 'ErrorBudgetBurnAbsent', exp_alerts: absentOf(all) },
        ],
      },
    ]),
  );
  return files;
}
