import {
  cachedText,
  escapeLabelValue,
  flat,
  formatValue,
  histogramTexts,
  Pieces,
  pushBuckets,
  type HistogramTexts,
} from '../exposition';
import type { Exemplar } from '../../model/exemplars';
import {
  createdAtMs,
  type CounterData,
  type GaugeData,
  type FamilyData,
  type HistogramData,
} from '../../model/registry';
import type { ParsedFamily } from './families';
import { walkRegistry, type AnyFamily, type RegistryEncoder } from './walk-registry';

/**
 * OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`). Differences from text
 * 0.0.4 that matter here: a counter family is named without `_total` in HELP/TYPE/UNIT while
 * its sample keeps it; counters and histograms carry a `_created` sample (seconds since the
 * epoch when the series was created); `# UNIT` is written when the family name ends in a unit;
 * HELP escapes double quotes too; the exposition ends with `# EOF`. Label values escape as in
 * text 0.0.4, so the cached `{label="value",...}` text of a series serves both formats.
 */

/** Units bizmon's metric names end in (OpenMetrics requires the name to end in `_<unit>`). */
const UNITS = ['seconds', 'bytes'] as const;

/** The end-of-exposition marker. */
export const OPENMETRICS_EOF = '# EOF\n';

/** The unit a family name ends in, if any. */
export function unitOf(familyName: string): string | undefined {
  return UNITS.find((unit) => familyName.endsWith(`_${unit}`));
}

/** A counter's OpenMetrics family name: the metric name without `_total`. */
export function counterFamilyName(name: string): string {
  return name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
}

/** Escapes HELP text per OpenMetrics: backslash, double quote and newline (as label values). */
export const escapeOpenMetricsHelp = escapeLabelValue;

/** A `_created` value: seconds since the epoch, milliseconds kept. */
function createdSeconds(series: { readonly createdMs: number }): string {
  return formatValue(createdAtMs(series) / 1000);
}

function header(family: string, help: string, type: string): string {
  const unit = unitOf(family);
  return flat(
    '# TYPE ',
    family,
    ' ',
    type,
    '\n# HELP ',
    family,
    ' ',
    escapeOpenMetricsHelp(help),
    '\n',
    unit === undefined ? '' : flat('# UNIT ', family, ' ', unit, '\n'),
  );
}

/** OpenMetrics' encoder of bizmon's families (see walkRegistry for what is walked). */
class OpenMetricsEncoder extends Pieces implements RegistryEncoder<string> {
  private name = '';
  private names: readonly string[] = [];
  /** Counters: `<family>_total` when the metric name is not already that; histograms: unused. */
  private total: string | undefined;
  private created = '';
  private texts: HistogramTexts | undefined;

  begin(family: AnyFamily): void {
    const { name, help, type, labelNames } = family.spec;
    this.name = name;
    this.names = labelNames;
    const familyName = type === 'counter' ? counterFamilyName(name) : name;
    this.total = type === 'counter' && !name.endsWith('_total') ? `${name}_total` : undefined;
    this.created = flat(familyName, '_created');
    this.texts =
      type === 'histogram' ? histogramTexts(family as FamilyData<HistogramData>) : undefined;
    this.pieces.push(header(familyName, help, type));
  }

  counter(series: CounterData): void {
    const labels = cachedText(this.names, series, false); // `{...} ` or ' '
    const pieces = this.pieces;
    pieces.push(this.total ?? this.name, labels);
    pieces.push(
      formatValue(series.value),
      '\n',
      this.created,
      labels,
      createdSeconds(series),
      '\n',
    );
  }

  gauge(series: GaugeData): void {
    this.pieces.push(
      this.name,
      cachedText(this.names, series, false),
      formatValue(series.value),
      '\n',
    );
  }

  histogram(series: HistogramData): void {
    const texts = this.texts!;
    const pieces = this.pieces;
    const labels = cachedText(this.names, series, true);
    const close = labels === '' ? ' ' : '} ';
    if (series.exemplars === undefined) pushBuckets(pieces, texts, labels, series.counts);
    else pushBucketsWithExemplars(pieces, texts, labels, series.counts, series.exemplars);
    pieces.push(texts.count, labels, close, formatValue(series.count), '\n');
    pieces.push(texts.sum, labels, close, formatValue(series.sum), '\n');
    pieces.push(this.created, labels, close, createdSeconds(series), '\n');
  }

  end(): void {}
}

/**
 * An exemplar in OpenMetrics syntax, for the end of its `_bucket` line (before the newline):
 * ` # {trace_id="…",span_id="…"} <value> <timestamp in seconds>`. The ids are hex
 * (exemplars.ts validates them), so nothing needs escaping.
 */
export function openMetricsExemplar(exemplar: Exemplar): string {
  return flat(
    ' # {trace_id="',
    exemplar.traceId,
    '",span_id="',
    exemplar.spanId,
    '"} ',
    formatValue(exemplar.value),
    ' ',
    formatValue(exemplar.timestampMs / 1000),
  );
}

/** pushBuckets, each `_bucket` line followed by its bucket's exemplar if it has one. */
function pushBucketsWithExemplars(
  pieces: string[],
  texts: HistogramTexts,
  labels: string,
  counts: readonly number[],
  exemplars: readonly (Exemplar | undefined)[],
): void {
  const tails = labels === '' ? texts.alone : texts.withLabels;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i]!;
    const exemplar = exemplars[i];
    pieces.push(texts.bucket, labels, tails[i]!, formatValue(cumulative));
    if (exemplar !== undefined) pieces.push(openMetricsExemplar(exemplar));
    pieces.push('\n');
  }
}

/** bizmon's families in OpenMetrics text, chunk by chunk (without `# EOF`). */
export function openMetricsChunks(
  families?: Iterable<AnyFamily>,
): AsyncGenerator<string, void, undefined> {
  return walkRegistry(new OpenMetricsEncoder(), families);
}

function labelText(labels: readonly (readonly [string, string])[], extra?: string): string {
  const parts = labels.map(([n, v]) => flat(n, '="', escapeLabelValue(v), '"'));
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? ' ' : flat('{', parts.join(','), '} ');
}

/**
 * Families parsed from the OpenTelemetry serializer's text (target_info, the app's own
 * instruments) in OpenMetrics text. target_info becomes the `info` family `target`, as
 * OpenMetrics defines it. No `_created`: that text does not carry start times.
 */
export function parsedFamiliesAsOpenMetrics(families: readonly ParsedFamily[]): string {
  const out: string[] = [];
  for (const family of families) {
    const { name, type } = family;
    if (name === 'target_info') {
      out.push(header('target', family.help, 'info'));
      for (const s of family.series) out.push(name, labelText(s.labels), '1\n');
      continue;
    }
    const familyName = type === 'counter' ? counterFamilyName(name) : name;
    out.push(header(familyName, family.help, type === 'untyped' ? 'unknown' : type));
    for (const s of family.series) {
      if (type === 'histogram') {
        for (const [le, count] of s.buckets) {
          out.push(
            name,
            '_bucket',
            labelText(s.labels, `le="${formatValue(le)}"`),
            formatValue(count),
            '\n',
          );
        }
        out.push(name, '_count', labelText(s.labels), formatValue(s.count), '\n');
        out.push(name, '_sum', labelText(s.labels), formatValue(s.sum), '\n');
      } else {
        const sample = type === 'counter' ? `${familyName}_total` : name;
        out.push(sample, labelText(s.labels), formatValue(s.value), '\n');
      }
    }
  }
  return out.join('');
}
