import { allFamilies } from './instruments';
import { CounterFamily, GaugeFamily, type HistogramFamily, type SeriesBase } from './registry';

/**
 * Prometheus text format 0.0.4 straight from bizmon's registry. Why not the OpenTelemetry
 * PrometheusSerializer over the producer's output: that path copies every series into a
 * DataPoint, then rebuilds and re-escapes every label string on every scrape (≈2× prom-client's
 * time at 10,000 series). Here each series' `{label="value",...}` text is built once, the first
 * time it is scraped, and kept on the series; a scrape only concatenates cached strings and
 * numbers, and yields to the event loop between slices so a large registry never blocks the app.
 */

/** Longest a scrape may run before it yields to the event loop (ms). */
const SLICE_BUDGET_MS = 8;

/** Series serialised between two looks at the clock. */
const SLICE_SERIES = 512;

/** Escapes a label value per the text format: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  // Most values need nothing; testing first avoids three regex replacements per new series.
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes HELP text per the text format: backslash and newline. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as the text format writes it. */
export function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

/** `le` label text of a bucket boundary, as the OpenTelemetry serializer writes it. */
function formatBound(bound: number): string {
  return bound === Infinity ? '+Inf' : String(bound);
}

/** The cached `label="value",...` text of a series (no braces), built on first use. */
interface CachedSeries extends SeriesBase {
  expositionLabels?: string;
}

function labelText(names: readonly string[], series: CachedSeries): string {
  let text = series.expositionLabels;
  if (text !== undefined) return text;
  text = '';
  const values = series.labelValues;
  for (let i = 0; i < values.length; i++) {
    text += `${i === 0 ? '' : ','}${names[i]}="${escapeLabelValue(values[i]!)}"`;
  }
  // Series are frozen-shape class instances; the property is declared on each class.
  series.expositionLabels = text;
  return text;
}

function familyHeader(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

function snapshot<S>(family: { forEach(fn: (series: S) => void): void }): S[] {
  const out: S[] = [];
  family.forEach((s) => out.push(s));
  return out;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Per-histogram-family strings that do not depend on the series. */
interface BucketTexts {
  /** `",le="0.1"} ` per bucket, +Inf last. */
  readonly withLabels: readonly string[];
  /** `{le="0.1"} ` per bucket, for an unlabelled histogram. */
  readonly alone: readonly string[];
}

const bucketTextCache = new WeakMap<HistogramFamily, BucketTexts>();

function bucketTexts(family: HistogramFamily): BucketTexts {
  let texts = bucketTextCache.get(family);
  if (!texts) {
    const les = [...family.boundaries.map(formatBound), '+Inf'];
    texts = { withLabels: les.map((le) => `,le="${le}"} `), alone: les.map((le) => `{le="${le}"} `) };
    bucketTextCache.set(family, texts);
  }
  return texts;
}

/**
 * Serialises every bizmon family in catalog order: HELP and TYPE once per family (also for a
 * family with no series yet), counters and gauges as `name{labels} value`, histograms as
 * `_count`, `_sum`, then cumulative `_bucket` lines with `le` in catalog order. Unlabelled
 * counters and gauges are created first so they export 0 from the start. Yields to the event
 * loop whenever a slice has run for more than a few milliseconds.
 */
export async function serializeRegistry(): Promise<string> {
  const parts: string[] = [];
  let chunk = '';
  let inSlice = 0;
  let sliceStart = performance.now();
  // Called after each series; true when the caller should await a turn of the event loop.
  const sliceFull = (): boolean => {
    if (++inSlice < SLICE_SERIES) return false;
    inSlice = 0;
    parts.push(chunk);
    chunk = '';
    return performance.now() - sliceStart >= SLICE_BUDGET_MS;
  };
  const pause = async (): Promise<void> => {
    await yieldToLoop();
    sliceStart = performance.now();
  };

  for (const family of allFamilies()) {
    const { spec } = family;
    const name = spec.name;
    const names = spec.labelNames;
    chunk += familyHeader(name, spec.help, spec.type);
    if (family instanceof CounterFamily || family instanceof GaugeFamily) {
      if (names.length === 0) family.labels();
      const isGauge = family instanceof GaugeFamily;
      for (const series of snapshot<CachedSeries & { value: number; hasValue?: boolean }>(family)) {
        if (isGauge && !series.hasValue) continue;
        const labels = labelText(names, series);
        chunk += `${labels === '' ? name : `${name}{${labels}}`} ${formatValue(series.value)}\n`;
        if (sliceFull()) await pause();
      }
    } else {
      const texts = bucketTexts(family);
      const bucketName = `${name}_bucket`;
      for (const series of snapshot(family)) {
        const labels = labelText(names, series as CachedSeries);
        const braced = labels === '' ? ' ' : `{${labels}} `;
        chunk += `${name}_count${braced}${formatValue(series.count)}\n${name}_sum${braced}${formatValue(series.sum)}\n`;
        const counts = series.counts;
        const tails = labels === '' ? texts.alone : texts.withLabels;
        const head = labels === '' ? bucketName : `${bucketName}{${labels}`;
        let cumulative = 0;
        for (let i = 0; i < counts.length; i++) {
          cumulative += counts[i]!;
          chunk += `${head}${tails[i]}${formatValue(cumulative)}\n`;
        }
        if (sliceFull()) await pause();
      }
    }
  }
  parts.push(chunk);
  return parts.join('');
}
