/**
 * Finds config numbers written by hand into a description or a runbook instead of being taken
 * from deploy/config.ts. The texts are rendered from a perturbed config, in which every
 * threshold, window, `for` and SLO policy number has a value of its own: a number of the real
 * config still in the rendered text was not put there by the config. Each text is checked
 * against its own alert's numbers only (a runbook may name another alert's window in passing
 * only through that alert's own runbook).
 */
import { config, type DeployConfig } from '../config';
import { seconds, tidy } from '../slo/policy';
import { runbookContexts, runbookFiles } from './runbooks';
import { thresholdGroups } from './thresholds';

const DURATION = /^(\d+[wdhms])+$/;

/** Numbers and durations (in seconds) of a config subtree. */
interface Values {
  readonly numbers: Set<number>;
  readonly durations: Set<number>;
}

function collect(
  node: unknown,
  into: Values = { numbers: new Set(), durations: new Set() },
  key = '',
): Values {
  if (typeof node === 'number') {
    // p95Seconds, lagSeconds: seconds written as a number.
    (key.endsWith('Seconds') ? into.durations : into.numbers).add(node);
  } else if (typeof node === 'string' && DURATION.test(node)) {
    into.durations.add(seconds(node));
  } else if (Array.isArray(node)) {
    for (const item of node) collect(item, into, key);
  } else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) collect(v, into, k);
  }
  return into;
}

/** The same config with every threshold and SLO number moved to a value no number had. */
export function perturbed(cfg: DeployConfig = config): DeployConfig {
  const taken = collect([cfg.thresholds, cfg.slo]);
  const fresh = (v: number, used: Set<number>, step: number): number => {
    let x = v < 1 ? tidy(v * 1.3 + 0.17) : tidy(v * 10 + 7);
    while (used.has(x)) x = tidy(x + step);
    used.add(x);
    return x;
  };
  const walk = (node: unknown, key = ''): unknown => {
    if (typeof node === 'number') {
      return key.endsWith('Seconds')
        ? fresh(node, taken.durations, 1)
        : fresh(node, taken.numbers, 0.01);
    }
    if (typeof node === 'string' && DURATION.test(node)) {
      return `${fresh(seconds(node), taken.durations, 1)}s`;
    }
    if (Array.isArray(node)) return node.map((n) => walk(n, key));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]));
    }
    return node;
  };
  return {
    ...cfg,
    jobSelector: 'job="perturbed-app"',
    bridgeJobSelector: 'job="perturbed-bridge"',
    agentJobSelector: 'job="perturbed-agent"',
    thresholds: walk(cfg.thresholds) as DeployConfig['thresholds'],
    slo: walk(cfg.slo) as DeployConfig['slo'],
  };
}

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
};
const NUMBER =
  /(?<![\w.$%-])(\d+(?:\.\d+)?)(?:[ -]?(%|(?:percent|seconds?|minutes?|hours?|days?|min|s|m|h|d)\b))?(?!\w)/g;
const ONE = /\b(?:an?|one|the last)\s+(second|minute|hour|day)\b/g;
const COMPARISON = /(?:[<>]=?|[=!]=)\s*(\d+(?:\.\d+)?)/g;

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(a));
const has = (set: Set<number>, x: number) => [...set].some((v) => close(v, x));

/** Config numbers of `values` that `text` spells out, as `"<token>"` snippets. */
export function spelledNumbers(text: string, values: Values): string[] {
  const found: string[] = [];
  const prose = text
    .replace(/<!--[\s\S]*?-->/g, '')
    // Prometheus templates in annotations ({{ $value | … }}, printf formats).
    .replace(/\{\{[\s\S]*?\}\}/g, '')
    // Ordered-list markers.
    .replace(/^\s*\d+\.\s/gm, '');
  const code: string[] = [];
  const outside = prose.replace(/`[^`\n]*`/g, (span) => {
    code.push(span);
    return '`…`';
  });
  for (const m of outside.matchAll(NUMBER)) {
    const n = Number(m[1]);
    const unit = m[2];
    const hit =
      unit === '%' || unit === 'percent'
        ? has(values.numbers, n / 100)
        : unit !== undefined
          ? has(values.durations, n * UNIT_SECONDS[unit]!)
          : has(values.numbers, n) || has(values.durations, n);
    if (hit) found.push(m[0]);
  }
  for (const m of outside.matchAll(ONE)) {
    if (has(values.durations, UNIT_SECONDS[m[1]!]!)) found.push(m[0]);
  }
  // In code, only what a comparison compares with: windows such as [5m] are the query's own.
  for (const span of code) {
    for (const m of span.matchAll(COMPARISON)) {
      if (has(values.numbers, Number(m[1]))) found.push(m[0]);
    }
  }
  return found;
}

/**
 * Descriptions, summaries and runbooks that spell out a config number (or the job selector)
 * by hand, as `<where>: "<token>"`; empty when every number comes from the config.
 */
export function handWrittenNumbers(deploy: string, cfg: DeployConfig = config): string[] {
  const other = perturbed(cfg);
  const problems: string[] = [];
  const realContexts = runbookContexts(cfg);
  const valuesOf = (alert: string): Values => {
    const context = realContexts.get(alert);
    const t = (cfg.thresholds as Readonly<Record<string, unknown>>)[alert];
    return collect(t ?? (context === undefined ? {} : cfg.slo));
  };
  const sloValues = (): Values => {
    const v = collect(cfg.slo);
    // The burn-rate factors follow from the policy: they are config numbers too.
    for (const p of (realContexts.get('ErrorBudgetBurn')?.pairs ?? []) as { factor: number }[]) {
      v.numbers.add(p.factor);
    }
    return v;
  };
  const selectors = [cfg.jobSelector, cfg.bridgeJobSelector, cfg.agentJobSelector];
  const check = (where: string, text: string, values: Values) => {
    for (const token of spelledNumbers(text, values)) problems.push(`${where}: "${token}"`);
    for (const s of selectors) if (text.includes(s)) problems.push(`${where}: "${s}"`);
  };
  for (const group of thresholdGroups(other)) {
    for (const rule of group.rules) {
      const values = valuesOf(rule.alert);
      check(`${rule.alert} description`, rule.description, values);
      check(`${rule.alert} summary`, rule.summary, values);
    }
  }
  for (const [file, text] of runbookFiles(deploy, other)) {
    const alert = file.replace(/\.md$/, '');
    const values = alert.startsWith('ErrorBudgetBurn') ? sloValues() : valuesOf(alert);
    check(`runbooks/src/${file}`, text, values);
  }
  return problems;
}
