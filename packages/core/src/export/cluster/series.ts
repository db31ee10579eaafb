import { clusterAggregation, type MetricSpec } from '../../model/catalog';
import { allFamilies } from '../../model/instruments';
import {
  createdAtMs,
  createdOffsetMs,
  CREATED_BASE_MS,
  isGaugeFamily,
  isHistogramFamily,
  MAX_LABEL_VALUE_LENGTH,
  OVERFLOW_LABEL_VALUE,
  type AnyFamilyData,
  type CounterData,
  type FamilyData,
} from '../../model/registry';

/**
 * A process's series as plain data, as a cluster worker sends them to the process that serves
 * the exporter (cluster/README.md), and how that process merges them with its own.
 */

/** A counter series: label values, value, creation time (ms since the epoch). */
export type CounterTuple = [labels: string[], value: number, createdAt: number];
/** A gauge series that has a value. */
export type GaugeTuple = [labels: string[], value: number];
/** A histogram series: label values, per-bucket counts (+Inf last), sum, count, creation time. */
export type HistogramTuple = [
  labels: string[],
  counts: number[],
  sum: number,
  count: number,
  createdAt: number,
];

/** One family of a snapshot. */
export type FamilyTuple =
  | [name: string, type: 'counter', series: CounterTuple[]]
  | [name: string, type: 'gauge', series: GaugeTuple[]]
  | [name: string, type: 'histogram', series: HistogramTuple[]];

/** Every family of a process, at one moment. */
export type Snapshot = FamilyTuple[];

/** This process's families as a snapshot (after the collect callbacks have run). */
export function takeSnapshot(): Snapshot {
  return snapshotOf(allFamilies(), true);
}

/** Families as a snapshot; gauges only with `withGauges` (a dead worker's are not kept). */
function snapshotOf(families: Iterable<AnyFamilyData>, withGauges: boolean): Snapshot {
  const out: Snapshot = [];
  for (const family of families) {
    const name = family.spec.name;
    if (isHistogramFamily(family)) {
      const series: HistogramTuple[] = [];
      family.forEach((s) =>
        series.push([[...s.labelValues], [...s.counts], s.sum, s.count, createdAtMs(s)]),
      );
      if (series.length > 0) out.push([name, 'histogram', series]);
    } else if (isGaugeFamily(family)) {
      if (!withGauges) continue;
      const series: GaugeTuple[] = [];
      family.forEach((s) => {
        if (s.hasValue) series.push([[...s.labelValues], s.value]);
      });
      if (series.length > 0) out.push([name, 'gauge', series]);
    } else {
      const series: CounterTuple[] = [];
      (family as FamilyData<CounterData>).forEach((s) =>
        series.push([[...s.labelValues], s.value, createdAtMs(s)]),
      );
      if (series.length > 0) out.push([name, 'counter', series]);
    }
  }
  return out;
}

const isLabel = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_LABEL_VALUE_LENGTH;
const isCount = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v < Infinity;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function validLabels(labels: unknown, arity: number): labels is string[] {
  return Array.isArray(labels) && labels.length === arity && labels.every(isLabel);
}

/**
 * A snapshot received from another process, checked against this process's catalog: families
 * it does not know, or of another type, and malformed series are left out, and no family keeps
 * more than `limit` series. Never throws.
 */
export function validSnapshot(
  raw: unknown,
  specs: ReadonlyMap<string, MetricSpec>,
  limit: number,
): Snapshot {
  const out: Snapshot = [];
  if (!Array.isArray(raw)) return out;
  for (const family of raw as unknown[]) {
    if (!Array.isArray(family) || family.length !== 3 || !Array.isArray(family[2])) continue;
    const [name, type, series] = family as [unknown, unknown, unknown[]];
    const spec = typeof name === 'string' ? specs.get(name) : undefined;
    if (!spec || spec.type !== type) continue;
    const arity = spec.labelNames.length;
    const buckets = (spec.buckets?.length ?? 0) + 1;
    const kept: unknown[] = [];
    for (const s of series.slice(0, limit)) {
      if (!Array.isArray(s) || !validLabels(s[0], arity)) continue;
      if (type === 'counter' && s.length === 3 && isCount(s[1]) && isNumber(s[2])) kept.push(s);
      else if (type === 'gauge' && s.length === 2 && isNumber(s[1])) kept.push(s);
      else if (
        type === 'histogram' &&
        s.length === 5 &&
        Array.isArray(s[1]) &&
        s[1].length === buckets &&
        (s[1] as unknown[]).every(isCount) &&
        isNumber(s[2]) &&
        isCount(s[3]) &&
        isNumber(s[4])
      )
        kept.push(s);
    }
    out.push([spec.name, type, kept] as FamilyTuple);
  }
  return out;
}

/** A process's latest snapshot, as the merge reads it. */
export interface Contribution {
  /** The `worker` label of its per-worker gauges. */
  readonly worker: string;
  readonly snapshot: Snapshot;
  /** False once the process has gone: its gauges leave, its counters and histograms stay. */
  readonly live: boolean;
}

interface MergedSeries {
  labelValues: readonly string[];
  value: number;
  hasValue: boolean;
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
  createdMs: number;
}

const KEY_SEPARATOR = '\u0000';

/** A merged family: plain data that the exposition formats read like a registry family. */
class MergedFamily implements FamilyData<MergedSeries> {
  private readonly series = new Map<string, MergedSeries>();
  constructor(
    readonly spec: MetricSpec,
    private readonly limit: number,
  ) {}

  get size(): number {
    return this.series.size;
  }

  /** The unlabelled series (walk-registry.ts asks for it so that it exports 0). */
  lookup(): MergedSeries {
    return this.at([]);
  }

  forEach(fn: (series: MergedSeries) => void): void {
    this.series.forEach(fn);
  }

  /** The series for `labels`, created empty; past the limit, the overflow series. */
  at(labels: readonly string[]): MergedSeries {
    const key = labels.join(KEY_SEPARATOR);
    let s = this.series.get(key);
    if (s !== undefined) return s;
    if (this.series.size >= this.limit - 1) {
      const overflow = this.spec.labelNames.map(() => OVERFLOW_LABEL_VALUE);
      const overflowKey = overflow.join(KEY_SEPARATOR);
      s = this.series.get(overflowKey);
      if (s !== undefined) return s;
      return this.create(overflowKey, overflow);
    }
    return this.create(key, labels);
  }

  private create(key: string, labels: readonly string[]): MergedSeries {
    const s: MergedSeries = {
      labelValues: labels,
      value: 0,
      hasValue: false,
      counts: new Array<number>((this.spec.buckets?.length ?? 0) + 1).fill(0),
      sum: 0,
      count: 0,
      min: Infinity,
      max: -Infinity,
      // min() with the contributions' creation times, which are earlier.
      createdMs: createdOffsetMs(),
    };
    this.series.set(key, s);
    return s;
  }
}

/** Specs with the `worker` label appended, one per spec, so the formats' caches stay valid. */
const perWorkerSpecs = new WeakMap<MetricSpec, MetricSpec>();

function perWorkerSpec(spec: MetricSpec): MetricSpec {
  let derived = perWorkerSpecs.get(spec);
  if (!derived) {
    derived = Object.freeze({ ...spec, labelNames: [...spec.labelNames, 'worker'] });
    perWorkerSpecs.set(spec, derived);
  }
  return derived;
}

function addCounter(into: MergedSeries, [, value, createdAt]: CounterTuple): void {
  into.value += value;
  into.hasValue = true;
  into.createdMs = Math.min(into.createdMs, createdAt - CREATED_BASE_MS);
}

function addHistogram(into: MergedSeries, [, counts, sum, count, createdAt]: HistogramTuple): void {
  for (let i = 0; i < into.counts.length; i++) into.counts[i]! += counts[i]!;
  into.sum += sum;
  into.count += count;
  into.createdMs = Math.min(into.createdMs, createdAt - CREATED_BASE_MS);
}

/**
 * The families of one `/metrics` for a clustered service, in this process's catalog order:
 * each contribution's series merged by the metric's rule (catalog.ts clusterAggregation).
 * `local` is this process's own contribution. At most `limit` series per family; the rest are
 * folded into the overflow series, as a single process does.
 */
export function mergeContributions(
  contributions: readonly Contribution[],
  limit: number,
): AnyFamilyData[] {
  // name → [family tuple of each contribution that has it]
  const byName = new Map<string, { family: FamilyTuple; from: Contribution }[]>();
  for (const from of contributions) {
    for (const family of from.snapshot) {
      let list = byName.get(family[0]);
      if (!list) byName.set(family[0], (list = []));
      list.push({ family, from });
    }
  }
  const out: AnyFamilyData[] = [];
  for (const local of allFamilies()) {
    const spec = local.spec;
    const rule = clusterAggregation(spec);
    const merged = new MergedFamily(rule === 'per_worker' ? perWorkerSpec(spec) : spec, limit);
    for (const { family, from } of byName.get(spec.name) ?? []) {
      if (family[1] === 'gauge') {
        if (!from.live) continue;
        for (const s of family[2]) {
          const series = merged.at(rule === 'per_worker' ? [...s[0], from.worker] : s[0]);
          series.value = rule === 'per_worker' ? s[1] : series.value + s[1];
          series.hasValue = true;
        }
      } else if (family[1] === 'counter') {
        for (const s of family[2]) addCounter(merged.at(s[0]), s);
      } else {
        for (const s of family[2]) addHistogram(merged.at(s[0]), s);
      }
    }
    out.push(merged as unknown as AnyFamilyData);
  }
  return out;
}

/**
 * Adds the counters and histograms of `snapshot` into `into` (the store of workers that have
 * died): the result is a snapshot again, of at most `limit` series per family.
 */
export function foldInto(into: Snapshot, snapshot: Snapshot, limit: number): Snapshot {
  const contributions: Contribution[] = [
    { worker: '', snapshot: into, live: false },
    { worker: '', snapshot, live: false },
  ];
  return snapshotOf(mergeContributions(contributions, limit), false);
}
