/**
 * Service level indicators over catalog metrics: which events are bad and which count, as
 * PromQL, typed so that metric and label names can only be the catalog's.
 */
import { catalog, type MetricName } from '@bizmon/core';
import { config } from '../config';

type MetricOfType<T> = {
  [N in MetricName]: (typeof catalog)[N]['type'] extends T ? N : never;
}[MetricName];
type CounterName = MetricOfType<'counter'>;
type HistogramName = MetricOfType<'histogram'>;
type LabelOf<N extends MetricName> = (typeof catalog)[N]['labelNames'][number];

/** Label values of one concrete series (every label of the metric), for promtool scenarios. */
export type SeriesLabels = Readonly<Record<string, string>>;

/** One concrete series of an SLI for the promtool scenarios, and which events it counts. */
export interface SampleSeries {
  readonly name: string;
  readonly labels: SeriesLabels;
  /** `bad` series appear with their first event, like labelled counters in the app. */
  readonly counts: 'good' | 'bad' | 'all';
}

/** An SLI: bad and total events per `by` group, as PromQL over any window. */
export interface Sli {
  /** Catalog metrics it reads. */
  readonly metrics: readonly MetricName[];
  /** Labels the SLI is computed per (`job` first). */
  readonly by: readonly string[];
  /** `sum by (<by>) (<fn>(total[<window>]))`. */
  total(fn: 'rate' | 'increase', window: string): string;
  /** Bad events likewise; 0, not absent, when there were none but total exists. */
  bad(fn: 'rate' | 'increase', window: string): string;
  /** A short human description of a good event. */
  readonly good: string;
  /** Series that the promtool scenarios feed with good and bad events. */
  readonly samples: readonly SampleSeries[];
}

/** `a=~"x",b=~"y"` from a matcher record, after the job selector. */
function selector(name: string, matchers: Readonly<Record<string, string>>): string {
  const parts = [config.jobSelector, ...Object.entries(matchers).map(([l, v]) => `${l}=~"${v}"`)];
  return `${name}{${parts.join(',')}}`;
}

function sumBy(by: readonly string[], fn: string, sel: string, window: string): string {
  return `sum by (${by.join(', ')}) (${fn}(${sel}[${window}]))`;
}

function matches(labels: SeriesLabels, matchers: Readonly<Record<string, string>>): boolean {
  return Object.entries(matchers).every(([l, v]) => new RegExp(`^(?:${v})$`).test(labels[l] ?? ''));
}

/**
 * Good and bad events counted by one counter: `bad` selects the failures among `total`
 * (regular expressions on the counter's own labels).
 */
export function eventsSli<N extends CounterName>(
  metric: N,
  spec: {
    readonly bad: Partial<Record<LabelOf<N>, string>>;
    readonly total?: Partial<Record<LabelOf<N>, string>>;
    readonly by: readonly ('job' | LabelOf<N>)[];
    readonly good: string;
    /** One good and one bad series, every label given (checked against the matchers). */
    readonly examples: {
      readonly good: Record<LabelOf<N>, string>;
      readonly bad: Record<LabelOf<N>, string>;
    };
  },
): Sli {
  const totalMatchers = (spec.total ?? {}) as Readonly<Record<string, string>>;
  const badMatchers = { ...totalMatchers, ...spec.bad } as Readonly<Record<string, string>>;
  const { good, bad } = spec.examples as { good: SeriesLabels; bad: SeriesLabels };
  if (!matches(good, totalMatchers) || matches(good, badMatchers) || !matches(bad, badMatchers)) {
    throw new Error(`${metric}: the example series do not match the SLI's matchers`);
  }
  const total = (fn: 'rate' | 'increase', w: string) =>
    sumBy(spec.by, fn, selector(metric, totalMatchers), w);
  return {
    metrics: [metric],
    by: spec.by,
    good: spec.good,
    total,
    // Labelled counters appear with their first event: no failure yet means no series, so
    // fall back to total * 0 to get a ratio of 0 rather than no ratio at all.
    bad: (fn, w) =>
      `(${sumBy(spec.by, fn, selector(metric, badMatchers), w)} or ${total(fn, w)} * 0)`,
    samples: [
      { name: metric, labels: good, counts: 'good' },
      { name: metric, labels: bad, counts: 'bad' },
    ],
  };
}

/** `le` matcher for a bucket bound; Prometheus 3 writes whole bounds as `1.0`, 2.x as `1`. */
function leMatcher(bound: number): string {
  return Number.isInteger(bound) ? `le=~"${bound}(\\\\.0)?"` : `le="${bound}"`;
}

/**
 * Requests faster than `thresholdSeconds` are good: the `le` bucket of that bound over the
 * histogram's count. The bound must be one of the catalog's buckets, or the ratio would be
 * interpolated nonsense.
 */
export function latencySli<N extends HistogramName>(
  metric: N,
  spec: {
    readonly thresholdSeconds: number;
    readonly by: readonly ('job' | LabelOf<N>)[];
    readonly example: Record<LabelOf<N>, string>;
  },
): Sli {
  const buckets: readonly number[] = catalog[metric].buckets ?? [];
  if (!buckets.includes(spec.thresholdSeconds)) {
    throw new Error(
      `${metric}: ${spec.thresholdSeconds} s is not a bucket bound (${buckets.join(', ')})`,
    );
  }
  const count = selector(`${metric}_count`, {});
  const fast = `${metric}_bucket{${config.jobSelector},${leMatcher(spec.thresholdSeconds)}}`;
  const total = (fn: 'rate' | 'increase', w: string) => sumBy(spec.by, fn, count, w);
  const example = spec.example as SeriesLabels;
  return {
    metrics: [metric],
    by: spec.by,
    good: `requests served within ${spec.thresholdSeconds} s`,
    total,
    bad: (fn, w) => `(${total(fn, w)} - ${sumBy(spec.by, fn, fast, w)})`,
    samples: [
      {
        name: `${metric}_bucket`,
        labels: { ...example, le: String(spec.thresholdSeconds) },
        counts: 'good',
      },
      { name: `${metric}_bucket`, labels: { ...example, le: '+Inf' }, counts: 'all' },
      { name: `${metric}_count`, labels: example, counts: 'all' },
    ],
  };
}
