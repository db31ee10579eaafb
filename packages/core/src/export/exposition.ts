import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { FamilyData, HistogramData, SeriesBase } from '../model/registry';
import type { ExpositionFormat } from './formats/negotiate';
import { walkRegistry, type AnyFamily, type RegistryEncoder } from './formats/walk-registry';
import { state } from '../base/state';

/**
 * Prometheus text format 0.0.4 straight from bizmon's registry. Why not the OpenTelemetry
 * PrometheusSerializer over the producer's output: that path copies every series into a
 * DataPoint, then rebuilds and re-escapes every label string on every scrape (bench/: 0.9–1.5×
 * prom-client's time; this serializer takes about 0.3×). Here each series' `{label="value",...}` text is built once, the first
 * time it is scraped, and kept on the series; a scrape only concatenates cached strings and
 * numbers (formats/walk-registry.ts slices the walk so a large registry never blocks the app).
 * OpenMetrics (formats/openmetrics.ts) reuses the cached label text.
 */

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

/** A sample value as the text formats write it. */
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
  labelText?: string;
}

/** Joins strings into one flat string (`+=` and template literals build ropes that every later read walks). */
export function flat(...strings: string[]): string {
  return strings.join('');
}

/**
 * The cached label text of a series, built on its first scrape: `{label="value",...} ` for a
 * counter or gauge (' ' when unlabelled), `{label="value",...` (no closing brace; '' when
 * unlabelled) for a histogram. The metric name is written before it, not cached with it: every
 * series would hold its own copy.
 */
export function cachedText(
  names: readonly string[],
  series: CachedSeries,
  histogram: boolean,
): string {
  const cached = series.labelText;
  if (cached !== undefined) return cached;
  const values = series.labelValues;
  const out: string[] = [];
  for (let i = 0; i < values.length; i++) {
    out.push(i === 0 ? '{' : ',', names[i]!, '="', escapeLabelValue(values[i]!), '"');
  }
  if (!histogram) out.push(values.length === 0 ? ' ' : '} ');
  return (series.labelText = out.join(''));
}

/** Per-histogram-family strings that do not depend on the series, built once. */
export interface HistogramTexts {
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

/** The series-independent strings of a histogram family. */
export function histogramTexts(family: FamilyData<HistogramData>): HistogramTexts {
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
 * Pushes a histogram series' cumulative `_bucket` lines (`le` in catalog order, +Inf last);
 * `labels` is its cached label text without the closing brace ('' when unlabelled).
 */
export function pushBuckets(
  pieces: string[],
  texts: HistogramTexts,
  labels: string,
  counts: readonly number[],
): void {
  const tails = labels === '' ? texts.alone : texts.withLabels;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i]!;
    pieces.push(texts.bucket, labels, tails[i]!, formatValue(cumulative), '\n');
  }
}

/**
 * Collects string pieces into one reused array joined once per slice: joining yields a flat
 * string, where `+=` would build millions of short-lived rope nodes for the garbage collector
 * (measured: GC took two thirds of a 50,000-series scrape).
 */
export class Pieces {
  protected readonly pieces: string[] = [];
  take(): string | undefined {
    if (this.pieces.length === 0) return undefined;
    const chunk = this.pieces.join('');
    this.pieces.length = 0;
    return chunk;
  }
}

/**
 * The text format's encoder: HELP and TYPE once per family, counters and gauges as
 * `name{labels} value`, histograms as `_count`, `_sum`, then cumulative `_bucket` lines with
 * `le` in catalog order.
 */
class TextFormatEncoder extends Pieces implements RegistryEncoder<string> {
  private name = '';
  private names: readonly string[] = [];
  private texts: HistogramTexts | undefined;

  begin(family: AnyFamily): void {
    const { name, help, type, labelNames } = family.spec;
    this.name = name;
    this.names = labelNames;
    this.texts =
      type === 'histogram' ? histogramTexts(family as FamilyData<HistogramData>) : undefined;
    this.pieces.push(
      flat('# HELP ', name, ' ', escapeHelp(help), '\n# TYPE ', name, ' ', type, '\n'),
    );
  }

  counter(series: CachedSeries & { value: number }): void {
    this.pieces.push(
      this.name,
      cachedText(this.names, series, false),
      formatValue(series.value),
      '\n',
    );
  }

  gauge(series: CachedSeries & { value: number }): void {
    this.counter(series);
  }

  histogram(
    series: CachedSeries & { count: number; sum: number; counts: readonly number[] },
  ): void {
    const texts = this.texts!;
    const pieces = this.pieces;
    const labels = cachedText(this.names, series, true);
    const close = labels === '' ? ' ' : '} ';
    pieces.push(texts.count, labels, close, formatValue(series.count), '\n');
    pieces.push(texts.sum, labels, close, formatValue(series.sum), '\n');
    pushBuckets(pieces, texts, labels, series.counts);
  }

  end(): void {}
}

/**
 * Serialises every bizmon family in catalog order in the text format (see TextFormatEncoder
 * and walkRegistry for what is written).
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
export function registryChunks(
  families?: Iterable<AnyFamily>,
): AsyncGenerator<string, void, undefined> {
  return walkRegistry(new TextFormatEncoder(), families);
}

/** A scrape produced chunk by chunk, in the format asked for (text 0.0.4 when none). */
export type ScrapeStream = (format?: ExpositionFormat) => AsyncIterable<string | Uint8Array>;

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

/** Resolves when `out` can take more data, or has closed. */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

/**
 * Writes `chunks` to `out` (the response, or the gzip stream in front of it) as they come and
 * ends it, waiting for 'drain' when it is full: without that, everything queued behind a slow
 * reader is encoded in one writev() call (measured: 50–100 ms at 50,000 series). Stops early
 * when the client went away.
 */
export async function writeStream(
  out: Writable | ServerResponse,
  chunks: AsyncIterable<string | Uint8Array>,
): Promise<void> {
  for await (const chunk of chunks) {
    if (out.destroyed) return;
    if (!out.write(chunk)) await drained(out);
  }
  if (!out.destroyed) out.end();
}
