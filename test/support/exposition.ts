/**
 * Test support: parses Prometheus text exposition and checks it against the metric catalog.
 */
import { spawnSync } from 'node:child_process';
import { catalogSpecs, type MetricSpec } from '@bizmon/core';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** Parses exposition text into families keyed by family name. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    return f;
  };
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE|UNIT) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      current = familyOf(meta[2]!);
      if (meta[1] === 'TYPE') current.type = meta[3]!;
      if (meta[1] === 'HELP') current.help = meta[3]!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const name = m[1]!;
    const base = current && name.startsWith(current.name) ? current : familyOf(name);
    base.samples.push({ name, labels: m[2] ? parseLabels(m[2]) : {}, value: Number(m[3]) });
  }
  return families;
}

function sorted(a: readonly string[]): string[] {
  return [...a].sort();
}

/**
 * Checks every family the catalog declares that appears in `text` has the catalog's type,
 * label set and buckets, and that no family outside the catalog appears (target_info aside).
 * Returns the families for further assertions.
 */
export function expectMatchesCatalog(text: string): Map<string, Family> {
  const families = parseExposition(text);
  const specs = new Map<string, MetricSpec>(catalogSpecs.map((s) => [s.name, s]));
  for (const family of families.values()) {
    if (family.name === 'target_info') continue;
    const spec = specs.get(family.name);
    if (!spec) throw new Error(`family ${family.name} is not in the catalog`);
    expect({ name: family.name, type: family.type }).toEqual({ name: spec.name, type: spec.type });
    for (const sample of family.samples) {
      const labelNames = Object.keys(sample.labels).filter((l) => l !== 'le');
      expect({ name: sample.name, labels: sorted(labelNames) }).toEqual({
        name: sample.name,
        labels: sorted(spec.labelNames),
      });
      expect(Object.keys(sample.labels).some((l) => l.startsWith('otel_scope'))).toBe(false);
      if (spec.type === 'histogram') {
        expect([`${spec.name}_bucket`, `${spec.name}_sum`, `${spec.name}_count`]).toContain(
          sample.name,
        );
      } else {
        expect(sample.name).toBe(spec.name);
      }
    }
    if (spec.type === 'histogram') {
      const first = family.samples.find((s) => s.name.endsWith('_bucket'));
      if (first) {
        const key = JSON.stringify({ ...first.labels, le: undefined });
        const les = family.samples
          .filter(
            (s) =>
              s.name.endsWith('_bucket') && JSON.stringify({ ...s.labels, le: undefined }) === key,
          )
          .map((s) => s.labels.le);
        expect(les).toEqual([...(spec.buckets ?? []).map(String), '+Inf']);
      }
    }
  }
  return families;
}

/** Sum of a family's samples whose labels include `match`. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  match: Record<string, string> = {},
): number {
  const familyName = name.replace(/_(bucket|sum|count)$/, '');
  const family = families.get(familyName) ?? families.get(name);
  if (!family) return 0;
  return family.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/**
 * What `promtool check metrics` objects to in prom-client's runtime names, which bizmon keeps
 * letter for letter so that the community Node.js dashboards work: two gauges ending in `_total`.
 */
export const PROM_CLIENT_NAME_LINTS: readonly string[] = [
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
];

/** `promtool check metrics` over `text`: its findings, one per line, sorted ([] when clean). */
export function promtoolFindings(text: string): string[] {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw run.error;
  return `${run.stdout}${run.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}
