import type { ServerResponse } from 'node:http';
import { allFamilies } from './instruments';
import {
  isGaugeFamily,
  isHistogramFamily,
  type FamilyData,
  type HistogramData,
  type SeriesBase,
} from './registry';
import { state } from './state';

/**
 * Prometheus text format 0.0.4 straight from bizmon's registry. Why not the OpenTelemetry
 * PrometheusSerializer over the producer's output: that path copies every series into a
 * DataPoint, then rebuilds and re-escapes every label string on every scrape (bench/: 0.9–1.5×
 * prom-client's time; this serializer takes about 0.3×). Here each series' `{label="value",...}` text is built once, the first
 * time it is scraped, and kept on the series; a scrape only concatenates cached strings and
 * numbers, and yields to the event loop between slices so a large registry never blocks the app.
 */

/** Longest a scrape may run before it yields to the event loop (ms). */
const SLICE_BUDGET_MS = 5;

/** Series serialised between two looks at the clock. */
const SLICE_SERIES = 128;

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

/** A series with the exposition text cached by this module (see SeriesBase). */
interface CachedSeries extends SeriesBase {
  expositionLabels?: string;
}

/** Joins strings into one flat string (`+=` and template literals build ropes that every later read walks). */
function flat(...strings: string[]): string {
  return strings.join('');
}

/**
 * The cached text of a series, built on its first scrape: `name{label="value",...} ` for a
 * counter or gauge, `{label="value",...` (no closing brace; '' when unlabelled) for a histogram.
 */
function cachedText(
  names: readonly string[],
  series: CachedSeries,
  head: string,
  histogram: boolean,
): string {
  const cached = series.expositionLabels;
  if (cached !== undefined) return cached;
  const values = series.labelValues;
  const out: string[] = histogram ? [] : [head];
  for (let i = 0; i < values.length; i++) {
    out.push(i === 0 ? '{' : ',', names[i]!, '="', escapeLabelValue(values[i]!), '"');
  }
  if (!histogram) out.push(values.length === 0 ? ' ' : '} ');
  return (series.expositionLabels = out.join(''));
}

function familyHeader(name: string, help: string, type: string): string {
  return flat('# HELP ', name, ' ', escapeHelp(help), '\n# TYPE ', name, ' ', type, '\n');
}

function snapshot<S>(family: { forEach(fn: (series: S) => void): void }): S[] {
  const out: S[] = [];
  family.forEach((s) => out.push(s));
  return out;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Per-histogram-family strings that do not depend on the series, built once. */
interface HistogramTexts {
  readonly count: string;
  readonly sum: string;
  readonly bucket: string;
  /** `,le="0.1"} ` per bucket, +Inf last. */
  readonly withLabels: readonly string[];
  /** `{le="0.1"} ` per bucket, for an unlabelled histogram. */
  readonly alone: readonly string[];
}

/** A cache of a pure function of the family's spec, so it may stay per copy of @bizmon/core. */
const histogramTextCache = new WeakMap<FamilyData<HistogramData>, HistogramTexts>();

function histogramTexts(family: FamilyData<HistogramData>): HistogramTexts {
  let texts = histogramTextCache.get(family);
  if (!texts) {
    const name = family.spec.name;
    const les = [...(family.spec.buckets ?? []).map(formatBound), '+Inf'];
    texts = {
      count: flat(name, '_count'),
      sum: flat(name, '_sum'),
      bucket: flat(name, '_bucket'),
      withLabels: les.map((le) => flat(',le="', le, '"} ')),
      alone: les.map((le) => flat('{le="', le, '"} ')),
    };
    histogramTextCache.set(family, texts);
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
  for await (const chunk of registryChunks()) parts.push(chunk);
  return parts.join('');
}

/**
 * The same text as serializeRegistry(), as flat chunks of a hundred-odd series each, produced
 * as they are consumed. /metrics writes each chunk as soon as it is built: joining a 16 MB
 * exposition (50,000 series) into one string blocks the event loop for tens of ms, and holding
 * every chunk until the end would promote them all to the old generation (more major GCs).
 */
export async function* registryChunks(): AsyncGenerator<string, void, undefined> {
  // Pieces go into one reused array joined once per slice: joining yields a flat string, where
  // `+=` would build millions of short-lived rope nodes for the garbage collector (measured: GC
  // took two thirds of a 50,000-series scrape).
  const pieces: string[] = [];
  let inSlice = 0;
  let sliceStart = performance.now();
  // Called after each series: whether a slice is complete.
  const sliceFull = (): boolean => {
    if (++inSlice < SLICE_SERIES) return false;
    inSlice = 0;
    return true;
  };
  // Hands the slice out, then yields to the event loop if this run has lasted long enough.
  async function* flush(): AsyncGenerator<string, void, undefined> {
    const chunk = pieces.join('');
    pieces.length = 0;
    yield chunk;
    if (performance.now() - sliceStart >= SLICE_BUDGET_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }

  for (const family of allFamilies()) {
    const { spec } = family;
    const name = spec.name;
    const names = spec.labelNames;
    pieces.push(familyHeader(name, spec.help, spec.type));
    // The spec says what a family holds: it may come from another copy of @bizmon/core.
    if (!isHistogramFamily(family)) {
      if (names.length === 0) family.lookup();
      const isGauge = isGaugeFamily(family);
      for (const series of snapshot<CachedSeries & { value: number; hasValue?: boolean }>(family)) {
        if (isGauge && !series.hasValue) continue;
        pieces.push(cachedText(names, series, name, false), formatValue(series.value), '\n');
        if (sliceFull()) yield* flush();
      }
    } else {
      const texts = histogramTexts(family);
      for (const series of snapshot(family)) {
        const labels = cachedText(names, series as CachedSeries, name, true);
        const close = labels === '' ? ' ' : '} ';
        pieces.push(texts.count, labels, close, formatValue(series.count), '\n');
        pieces.push(texts.sum, labels, close, formatValue(series.sum), '\n');
        const counts = series.counts;
        const tails = labels === '' ? texts.alone : texts.withLabels;
        let cumulative = 0;
        for (let i = 0; i < counts.length; i++) {
          cumulative += counts[i]!;
          pieces.push(texts.bucket, labels, tails[i]!, formatValue(cumulative), '\n');
        }
        if (sliceFull()) yield* flush();
      }
    }
  }
  if (pieces.length > 0) yield* flush();
}

/** A scrape produced chunk by chunk. */
export type ScrapeStream = () => AsyncIterable<string>;

/**
 * @internal Declares that `scrape` (ActivePipeline.scrape) can also be had chunk by chunk from
 * `stream`. Kept in the shared state, so that the monitoring endpoints of any copy of
 * @bizmon/core stream the pipeline another copy started.
 */
export function registerStreamingScrape(scrape: () => Promise<string>, stream: ScrapeStream): void {
  state.streamingScrapes.set(scrape, stream);
}

/** @internal The streaming form of a pipeline's scrape function, when it has one. */
export function streamingScrapeOf(scrape: () => Promise<string>): ScrapeStream | undefined {
  return state.streamingScrapes.get(scrape);
}

/** Resolves when `res` can take more data, or has closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes `chunks` to `res` as they come and ends it, waiting for 'drain' when the socket is
 * full: without that, everything queued behind a slow reader is encoded in one writev() call
 * (measured: 50–100 ms at 50,000 series). Stops early when the client went away.
 */
export async function writeStream(
  res: ServerResponse,
  chunks: AsyncIterable<string>,
): Promise<void> {
  for await (const chunk of chunks) {
    if (res.destroyed) return;
    if (!res.write(chunk)) await drained(res);
  }
  if (!res.destroyed) res.end();
}
