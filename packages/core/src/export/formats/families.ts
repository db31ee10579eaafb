/**
 * A plain model of metric families for the part of `/metrics` that does not come from bizmon's
 * registry: target_info and the app's own OpenTelemetry instruments, which the OpenTelemetry
 * PrometheusSerializer writes as text 0.0.4. The OpenMetrics and protobuf formats read that
 * text back into this model, so every format names and labels those series exactly as the text
 * format does. It is a small part of a scrape; bizmon's own series never go through here.
 */

/** Type of a parsed family (`untyped` for a family without a TYPE line). */
export type ParsedType = 'counter' | 'gauge' | 'histogram' | 'untyped';

/** One series of a parsed family. */
export interface ParsedSeries {
  /** Label pairs in exposition order (`le` left out for histograms). */
  readonly labels: (readonly [string, string])[];
  /** The counter, gauge or untyped value. */
  value: number;
  /** Histograms: observation count, sum and cumulative buckets as [upper bound, count]. */
  count: number;
  sum: number;
  readonly buckets: [number, number][];
}

/** One parsed family. */
export interface ParsedFamily {
  readonly name: string;
  help: string;
  type: ParsedType;
  readonly series: ParsedSeries[];
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_count', '_sum'] as const;

/** Undoes the text format's escapes (`\\`, `\"`, `\n`). */
function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses a sample value as the text format writes it (`+Inf`, `-Inf`, `NaN` included). */
function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at `start` (the brace); returns the pairs and the index after `}`. */
function parseLabels(line: string, start: number): [(readonly [string, string])[], number] {
  const pairs: (readonly [string, string])[] = [];
  let i = start + 1;
  while (i < line.length && line[i] !== '}') {
    const eq = line.indexOf('="', i);
    if (eq === -1) break;
    const name = line.slice(i, eq);
    let j = eq + 2;
    let raw = '';
    while (j < line.length && line[j] !== '"') {
      if (line[j] === '\\') j++;
      j++;
    }
    raw = line.slice(eq + 2, j);
    pairs.push([name, unescape(raw)]);
    i = j + 1;
    if (line[i] === ',') i++;
  }
  return [pairs, i + 1];
}

/**
 * Parses text format 0.0.4 as the OpenTelemetry serializer writes it: HELP, TYPE, samples with
 * labels; other comments (`# UNIT`) are skipped, and so is any line it cannot read.
 */
export function parseTextFamilies(text: string): ParsedFamily[] {
  const families = new Map<string, ParsedFamily>();
  // Per histogram family: its series by the text of their labels (without `le`).
  const histogramSeries = new Map<ParsedFamily, Map<string, ParsedSeries>>();
  const familyOf = (name: string): ParsedFamily => {
    let family = families.get(name);
    if (!family) families.set(name, (family = { name, help: '', type: 'untyped', series: [] }));
    return family;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue;
      const family = familyOf(m[2]!);
      if (m[1] === 'HELP') family.help = unescape(m[3]!);
      else if (['counter', 'gauge', 'histogram'].includes(m[3]!)) family.type = m[3] as ParsedType;
      continue;
    }
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const nameEnd = brace !== -1 && brace < space ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    const [labels, after] = nameEnd === brace ? parseLabels(line, brace) : [[], nameEnd];
    const value = parseValue(line.slice(after).trim().split(' ')[0]!);
    const suffix = HISTOGRAM_SUFFIXES.find((s) => name.endsWith(s));
    const base = suffix && families.get(name.slice(0, -suffix.length));
    if (base && base.type === 'histogram') {
      let byLabels = histogramSeries.get(base);
      if (!byLabels) histogramSeries.set(base, (byLabels = new Map()));
      const own = labels.filter(([n]) => n !== 'le');
      const key = JSON.stringify(own);
      let series = byLabels.get(key);
      if (!series) {
        series = { labels: own, value: 0, count: 0, sum: 0, buckets: [] };
        byLabels.set(key, series);
        base.series.push(series);
      }
      if (suffix === '_count') series.count = value;
      else if (suffix === '_sum') series.sum = value;
      else
        series.buckets.push([parseValue(labels.find(([n]) => n === 'le')?.[1] ?? '+Inf'), value]);
      continue;
    }
    familyOf(name).series.push({ labels, value, count: 0, sum: 0, buckets: [] });
  }
  return [...families.values()];
}
