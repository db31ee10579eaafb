import type { SpanContext } from '@opentelemetry/api';
import type { MetricSpec } from './catalog';
import { keepExemplar, type ExemplarSlots } from './exemplars';
import { state } from '../base/state';
import { warnRateLimited } from '../base/log';
import { NativeBuckets, type NativeHistogramData } from './native-histogram';

/**
 * bizmon's metric storage. Why not the OpenTelemetry API's instruments directly: its `add()`
 * sorts and hashes the attribute object on every call (~2 µs), and its cardinality limit bounds
 * each collection, not memory. Here a labelled series is found by walking a small tree of Maps
 * keyed by label value — no string building, no allocation once the series exists — and a
 * metric never holds more than the cardinality limit. The OpenTelemetry SDK still collects and
 * exports everything (see producer.ts), so Prometheus and OTLP readers see these series.
 *
 * Memory per series (bench/memory.mjs) shaped the layout: a Map costs ~200 bytes even with one
 * entry, so the tree only branches where two series differ (see Family), and a series keeps its
 * label values in four fields rather than an array of its own (80 bytes more).
 */

/** Label value every label of the overflow series carries once a metric is at its limit. */
export const OVERFLOW_LABEL_VALUE = '__overflow__';

/** Longest label value accepted; longer values are dropped, not truncated into a new series. */
export const MAX_LABEL_VALUE_LENGTH = 256;

/** Why a measurement was refused (the `reason` label of bizmon_dropped_measurements_total). */
export type DropReason = 'invalid_value' | 'invalid_label_value';

/** Tuple of label values matching a spec's label names. */
export type LabelValues<L extends readonly string[]> = { [K in keyof L]: string };

/** Common part of every series. */
export interface SeriesBase {
  /** Label values in the spec's label order (a new frozen array on each read). */
  readonly labelValues: readonly string[];
  /**
   * @internal `{label="value",...` text for the text formats, without the metric name, built by
   * exposition.ts (cachedText) on first scrape. (Formerly `expositionLabels`, which began with
   * the name: renamed so that copies of different versions never read each other's text.)
   */
  labelText?: string;
  /**
   * @internal Protobuf bytes built by export/formats/protobuf.ts on first scrape, one char per byte
   * (latin1): a counter's or gauge's whole Metric message (its value the last 8 bytes), a
   * histogram's LabelPair fields.
   */
  protobufBytes?: string;
}

/**
 * Wall-clock base of series' `createdMs`: an offset from it stays a small integer (a V8 Smi,
 * stored unboxed) for 24 days of uptime (12 where V8 compresses pointers), where a full
 * timestamp would be a boxed double on every series.
 * Kept on a global symbol, so two copies of this package read each other's series right.
 */
export const CREATED_BASE_MS: number = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('bizmon.core.createdBase.v1')
] ??= Date.now()) as number;

/**
 * Now, as a series' `createdMs`. Math.trunc, because V8 keeps the difference of two Date.now()
 * values as a boxed double (16 more bytes on every series) even when it is a small integer.
 */
export function createdOffsetMs(): number {
  return Math.trunc(Date.now() - CREATED_BASE_MS);
}

/** When a counter or histogram series was created (ms since the epoch), for `_created`. */
export function createdAtMs(series: { readonly createdMs: number }): number {
  return CREATED_BASE_MS + series.createdMs;
}

/** What a counter series holds. */
export interface CounterData extends SeriesBase {
  readonly value: number;
  /** When the series was created, as an offset from CREATED_BASE_MS (createdAtMs). */
  readonly createdMs: number;
}

/** What a gauge series holds; no sample is exported while `hasValue` is false. */
export interface GaugeData extends SeriesBase {
  readonly value: number;
  readonly hasValue: boolean;
}

/** What a histogram series holds. */
export interface HistogramData extends SeriesBase {
  /** Per-bucket (non-cumulative) counts for the spec's buckets; the last slot is +Inf. */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  /** When the series was created, as an offset from CREATED_BASE_MS (createdAtMs). */
  readonly createdMs: number;
  /**
   * The native histogram buckets (BIZMON_NATIVE_HISTOGRAMS=true), from the series' first
   * observation on; absent otherwise, and in series of copies that predate them.
   */
  readonly native?: NativeHistogramData | undefined;
  /**
   * Each bucket's latest exemplar (exemplars.ts), +Inf last; absent until the series' first
   * exemplar, and on series of copies that predate exemplars.
   */
  readonly exemplars?: ExemplarSlots;
}

/**
 * A metric family as every copy of @bizmon/core of the same major version sees it in the shared
 * state (state.ts), whichever copy's classes created it: its spec, which says what its series
 * hold, and its series. Export code reads families through this and never through the classes
 * below, whose identity differs from copy to copy.
 */
export interface FamilyData<S extends SeriesBase = SeriesBase> {
  readonly spec: MetricSpec;
  /** The series for these label values, created on first use (Family#labels). */
  lookup(v0?: unknown, v1?: unknown, v2?: unknown, v3?: unknown): S;
  forEach(fn: (series: S) => void): void;
  /** How many series the family holds. */
  readonly size: number;
}

/** A family of any type, as the shared state holds it. */
export type AnyFamilyData =
  FamilyData<CounterData> | FamilyData<GaugeData> | FamilyData<HistogramData>;

/** Whether `family` holds histogram series (by its spec). */
export function isHistogramFamily(family: AnyFamilyData): family is FamilyData<HistogramData> {
  return family.spec.type === 'histogram';
}

/** Whether `family` holds gauge series (by its spec). */
export function isGaugeFamily(family: AnyFamilyData): family is FamilyData<GaugeData> {
  return family.spec.type === 'gauge';
}

/**
 * A level of the label tree: the Map at depth d is keyed by the value of label d. An entry holds
 * either the next level or, when only one series lies below it, that series itself (its further
 * label values are compared field by field). The last label's Map holds series only.
 */
type Node<S> = Map<unknown, Node<S> | S>;

/** Records a refused measurement: counted, and warned about at most once a minute per reason. */
export function reportDrop(metric: string, reason: DropReason, detail: string): void {
  state.recordDrop?.(metric, reason);
  warnRateLimited(
    `drop:${metric}:${reason}`,
    `dropped a measurement of ${metric} (${reason}: ${detail}); counted in bizmon_dropped_measurements_total`,
  );
}

function describeLabel(value: unknown): string | undefined {
  if (typeof value !== 'string')
    return `label value of type ${value === null ? 'null' : typeof value}`;
  if (value.length === 0) return 'empty label value';
  if (value.length > MAX_LABEL_VALUE_LENGTH)
    return `label value of ${value.length} characters (limit ${MAX_LABEL_VALUE_LENGTH})`;
  if (!value.isWellFormed()) return 'label value that is not well-formed Unicode';
  return undefined;
}

/**
 * `value` as a flat string of its own, shared with every other holder of the same text (V8
 * interns property keys). A label value is often a rope from a template literal, or a slice of a
 * larger string — a request body, a URL — that it would keep alive whole for the series' life.
 */
function ownString(value: unknown): string {
  return Object.keys({ [value as string]: 0 })[0]!;
}

/** Label value `i` of a series (undefined past its labels). */
function labelAt(series: Series, i: number): string | undefined {
  return i === 0 ? series.l0 : i === 1 ? series.l1 : i === 2 ? series.l2 : series.l3;
}

/** A metric family: the series of one catalog metric. */
export abstract class Family<
  S extends Series,
  L extends readonly string[] = readonly string[],
> implements FamilyData<S> {
  readonly spec: MetricSpec<string, L>;
  private readonly arity: number;
  private readonly root: Node<S> = new Map();
  private unlabelled: S | undefined;
  private overflow: S | undefined;
  private count = 0;
  /** Shared no-op series returned while recording is off or for refused label values. */
  protected abstract readonly noop: S;

  constructor(spec: MetricSpec<string, L>) {
    this.spec = spec;
    this.arity = spec.labelNames.length;
  }

  protected abstract createSeries(labelValues: readonly string[]): S;

  /** Number of series held (at most the cardinality limit). */
  get size(): number {
    return this.count;
  }

  /**
   * The series for these label values, created on first use. Never throws: a bad value returns
   * a no-op series and counts a drop; a metric at its cardinality limit returns the overflow
   * series. Implemented below with positional parameters (no rest array), so the hot path
   * allocates nothing once the series exists.
   */
  declare labels: (...values: LabelValues<L>) => S;

  /** @internal The implementation behind labels(). */
  lookup(v0?: unknown, v1?: unknown, v2?: unknown, v3?: unknown): S {
    if (!state.enabled) return this.noop;
    const arity = this.arity;
    if (arity === 0) return this.unlabelled ?? this.createUnlabelled();
    // `next` is the entry for labels 0..i-1: a series once i reaches the arity, else a Map or
    // the one series below it, whose labels i.. must match too.
    let next = this.root.get(v0);
    for (let i = 1; next !== undefined; i++) {
      if (i === arity) return next as S;
      if (!(next instanceof Map)) {
        const s = next;
        if (
          (i > 1 || s.l1 === v1) &&
          (i > 2 || arity < 3 || s.l2 === v2) &&
          (arity < 4 || s.l3 === v3)
        )
          return s;
        break;
      }
      next = next.get(i === 1 ? v1 : i === 2 ? v2 : v3);
    }
    return this.insert(v0, v1, v2, v3);
  }

  /** Calls `fn` for every series, overflow included. */
  forEach(fn: (series: S) => void): void {
    if (this.unlabelled) fn(this.unlabelled);
    if (this.arity > 0) this.walk(this.root, fn);
    if (this.overflow) fn(this.overflow);
  }

  /** Removes every series (for tests and for gauges rebuilt on each collection). */
  reset(): void {
    this.root.clear();
    this.unlabelled = undefined;
    this.overflow = undefined;
    this.count = 0;
  }

  private walk(node: Node<S>, fn: (series: S) => void): void {
    for (const child of node.values()) {
      if (child instanceof Map) this.walk(child, fn);
      else fn(child);
    }
  }

  private createUnlabelled(): S {
    this.count++;
    return (this.unlabelled = this.createSeries(NO_LABELS));
  }

  private insert(v0: unknown, v1: unknown, v2: unknown, v3: unknown): S {
    const names = this.spec.labelNames;
    for (let i = 0; i < this.arity; i++) {
      const problem = describeLabel(i === 0 ? v0 : i === 1 ? v1 : i === 2 ? v2 : v3);
      if (problem !== undefined) {
        reportDrop(this.spec.name, 'invalid_label_value', `${names[i]}: ${problem}`);
        return this.noop;
      }
    }
    if (this.count >= state.cardinalityLimit - 1) return this.overflowSeries();
    const values = [v0, v1, v2, v3].slice(0, this.arity).map(ownString);
    const series = this.createSeries(values);
    let node = this.root;
    for (let i = 0; ; i++) {
      const next = node.get(values[i]);
      if (next === undefined) {
        node.set(values[i], series);
        break;
      }
      if (next instanceof Map) {
        node = next;
        continue;
      }
      // Another series shares labels 0..i (lookup saw it differ further on): give both a level
      // of their own per label they still share, then one Map where they part.
      let level: Node<S> = new Map();
      node.set(values[i++], level);
      while (i < this.arity - 1 && labelAt(next, i) === values[i]) {
        node = level;
        node.set(values[i++], (level = new Map()));
      }
      level.set(labelAt(next, i), next);
      level.set(values[i], series);
      break;
    }
    this.count++;
    return series;
  }

  private overflowSeries(): S {
    warnRateLimited(
      `overflow:${this.spec.name}`,
      `${this.spec.name} reached its cardinality limit of ${state.cardinalityLimit} series; ` +
        `new label sets are folded into the series whose labels are all "${OVERFLOW_LABEL_VALUE}"`,
    );
    if (this.overflow) return this.overflow;
    const values = this.spec.labelNames.map(() => OVERFLOW_LABEL_VALUE);
    this.count++;
    return (this.overflow = this.createSeries(values));
  }
}

// One shared function object on the prototype, so every family's labels() stays monomorphic.
(Family.prototype as unknown as { labels: unknown }).labels = Family.prototype.lookup;

/**
 * What every series class starts with, in one layout. The label values are four fields (undefined
 * past the spec's labels) instead of an array: Family compares them when a tree entry holds a
 * series, and an array of four would add 80 bytes to every series.
 */
export abstract class Series implements SeriesBase {
  /** @internal Label value 0 (see labelValues). */
  readonly l0: string | undefined;
  /** @internal Label value 1. */
  readonly l1: string | undefined;
  /** @internal Label value 2. */
  readonly l2: string | undefined;
  /** @internal Label value 3. */
  readonly l3: string | undefined;
  /** @internal See SeriesBase. */
  labelText: string | undefined = undefined;
  /** @internal See SeriesBase. */
  protobufBytes: string | undefined = undefined;
  constructor(
    /** The metric's name, for the drop counter. */
    protected readonly metric: string,
    labelValues: readonly string[],
  ) {
    this.l0 = labelValues[0];
    this.l1 = labelValues[1];
    this.l2 = labelValues[2];
    this.l3 = labelValues[3];
  }

  /** Label values in the spec's label order, as a new frozen array (export code reads it once). */
  get labelValues(): readonly string[] {
    const { l0, l1, l2, l3 } = this;
    if (l0 === undefined) return NO_LABELS;
    if (l1 === undefined) return Object.freeze([l0]);
    if (l2 === undefined) return Object.freeze([l0, l1]);
    if (l3 === undefined) return Object.freeze([l0, l1, l2]);
    return Object.freeze([l0, l1, l2, l3]);
  }
}

/** A monotonically increasing count. */
export class CounterSeries extends Series implements CounterData {
  value = 0;
  /** @internal Creation time, ms after CREATED_BASE_MS (see createdAtMs). */
  readonly createdMs = createdOffsetMs();

  /** Adds `amount` (default 1); a negative, NaN or infinite amount is dropped and counted. */
  add(amount = 1): void {
    if (amount >= 0 && amount < Infinity) {
      if (state.enabled) this.value += amount;
    } else if (state.enabled)
      reportDrop(this.metric, 'invalid_value', `counter add of ${String(amount)}`);
  }
}

/** A value that goes up and down, or is absent (`hasValue` false: no sample is exported). */
export class GaugeSeries extends Series implements GaugeData {
  value = 0;
  hasValue: boolean;
  constructor(metric: string, labelValues: readonly string[], initial: boolean) {
    super(metric, labelValues);
    this.hasValue = initial;
  }

  set(value: number): void {
    if (Number.isFinite(value)) {
      if (state.enabled) {
        this.value = value;
        this.hasValue = true;
      }
    } else if (state.enabled)
      reportDrop(this.metric, 'invalid_value', `gauge set to ${String(value)}`);
  }

  inc(amount = 1): void {
    if (Number.isFinite(amount)) {
      if (state.enabled) {
        this.value += amount;
        this.hasValue = true;
      }
    } else if (state.enabled)
      reportDrop(this.metric, 'invalid_value', `gauge change of ${String(amount)}`);
  }

  dec(amount = 1): void {
    this.inc(-amount);
  }

  /** Stops exporting a sample until the next set(). */
  clear(): void {
    this.hasValue = false;
    this.value = 0;
  }
}

/** Explicit-bucket histogram of non-negative values. */
export class HistogramSeries extends Series implements HistogramData {
  /** Per-bucket (non-cumulative) counts; the last slot is the +Inf bucket. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  /** @internal Creation time, ms after CREATED_BASE_MS (see createdAtMs). */
  readonly createdMs = createdOffsetMs();
  min = Infinity;
  max = -Infinity;
  /**
   * @internal Native buckets (native-histogram.ts), allocated on the first observation while
   * state.nativeHistograms is on.
   */
  native: NativeBuckets | undefined = undefined;
  /** @internal See HistogramData.exemplars: allocated when the first exemplar arrives. */
  exemplars: ExemplarSlots | undefined = undefined;
  constructor(
    metric: string,
    readonly boundaries: readonly number[],
    labelValues: readonly string[],
  ) {
    super(metric, labelValues);
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  /** Observes `value`; a negative, NaN or infinite value is dropped and counted. */
  observe(value: number): void {
    if (!(value >= 0 && value < Infinity)) {
      if (state.enabled)
        reportDrop(this.metric, 'invalid_value', `histogram observation of ${String(value)}`);
      return;
    }
    if (!state.enabled) return;
    const b = this.boundaries;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (state.nativeHistograms) (this.native ??= new NativeBuckets()).observe(value);
  }

  /**
   * Observes `value` as observe() does and, when `span` is given (exemplarSpan()), keeps it as
   * the exemplar of the value's bucket, timestamped `timestampMs` (default now).
   */
  observeWithExemplar(value: number, span: SpanContext | undefined, timestampMs?: number): void {
    this.observe(value);
    if (span !== undefined && value >= 0 && value < Infinity && state.enabled)
      keepExemplar(this, value, span, timestampMs ?? Date.now());
  }
}

const NO_LABELS: readonly string[] = Object.freeze([]);

/** The series of a counter metric. */
export class CounterFamily<L extends readonly string[] = readonly string[]> extends Family<
  CounterSeries,
  L
> {
  protected readonly noop: CounterSeries;
  constructor(spec: MetricSpec<string, L>) {
    super(spec);
    this.noop = new NoopCounter(spec.name, NO_LABELS);
  }
  protected createSeries(labelValues: readonly string[]): CounterSeries {
    return new CounterSeries(this.spec.name, labelValues);
  }
}

/** The series of a gauge metric. */
export class GaugeFamily<L extends readonly string[] = readonly string[]> extends Family<
  GaugeSeries,
  L
> {
  protected readonly noop: GaugeSeries;
  constructor(spec: MetricSpec<string, L>) {
    super(spec);
    this.noop = new NoopGauge(spec.name, NO_LABELS, false);
  }
  protected createSeries(labelValues: readonly string[]): GaugeSeries {
    // A gauge exports 0 from its creation unless its spec says it is absent until set.
    return new GaugeSeries(this.spec.name, labelValues, !this.spec.absentUntilSet);
  }
}

/** The series of a histogram metric. */
export class HistogramFamily<L extends readonly string[] = readonly string[]> extends Family<
  HistogramSeries,
  L
> {
  protected readonly noop: HistogramSeries;
  readonly boundaries: readonly number[];
  constructor(spec: MetricSpec<string, L>) {
    super(spec);
    this.boundaries = Object.freeze([...(spec.buckets ?? [])]);
    this.noop = new NoopHistogram(spec.name, this.boundaries, NO_LABELS);
  }
  protected createSeries(labelValues: readonly string[]): HistogramSeries {
    return new HistogramSeries(this.spec.name, this.boundaries, labelValues);
  }
}

class NoopCounter extends CounterSeries {
  override add(): void {}
}
class NoopGauge extends GaugeSeries {
  override set(): void {}
  override inc(): void {}
}
class NoopHistogram extends HistogramSeries {
  override observe(): void {}
  override observeWithExemplar(): void {}
}
