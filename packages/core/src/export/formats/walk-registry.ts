import { allFamilies } from '../../model/instruments';
import {
  isGaugeFamily,
  isHistogramFamily,
  type AnyFamilyData,
  type CounterData,
  type FamilyData,
  type GaugeData,
  type HistogramData,
} from '../../model/registry';

/**
 * The one walk over bizmon's registry that every exposition format shares: families in catalog
 * order, series in insertion order, handed to a format's encoder; output handed out in slices,
 * yielding to the event loop whenever a slice has run long so a large registry never blocks
 * the app.
 */

/** Longest a scrape may run before it yields to the event loop (ms). */
const SLICE_BUDGET_MS = 5;

/** Series encoded between two looks at the clock. */
const SLICE_SERIES = 128;

/**
 * Any of bizmon's families, as plain data: it may come from another copy of @bizmon/core
 * (state.ts), so what it holds is read from its spec, never from its class.
 */
export type AnyFamily = AnyFamilyData;

/** One exposition format's writer of bizmon's families. */
export interface RegistryEncoder<C> {
  /** Starts a family (its HELP/TYPE lines or message header). */
  begin(family: AnyFamily): void;
  counter(series: CounterData): void;
  gauge(series: GaugeData): void;
  histogram(series: HistogramData): void;
  /** Ends the current family. */
  end(): void;
  /** What was encoded since the last call, or undefined when nothing can be handed out yet. */
  take(): C | undefined;
}

function snapshot<S>(family: { forEach(fn: (series: S) => void): void }): S[] {
  const out: S[] = [];
  family.forEach((s) => out.push(s));
  return out;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Encodes every family with `encoder`: also a family with no series yet (its header), and the
 * unlabelled counters and gauges are created first so they export 0 from the start; a gauge
 * without a value is left out. Series are snapshotted per family, so series created while the
 * walk yields appear in the next scrape. `families` are this process's own unless given (a
 * clustered service's merged families, cluster/merge.ts).
 */
export async function* walkRegistry<C>(
  encoder: RegistryEncoder<C>,
  families: Iterable<AnyFamily> = allFamilies(),
): AsyncGenerator<C, void, undefined> {
  let inSlice = 0;
  let sliceStart = performance.now();
  // Hands out what the slice produced, then yields to the event loop if this run lasted long.
  async function* flush(): AsyncGenerator<C, void, undefined> {
    inSlice = 0;
    const chunk = encoder.take();
    if (chunk !== undefined) yield chunk;
    if (performance.now() - sliceStart >= SLICE_BUDGET_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }

  for (const family of families) {
    encoder.begin(family);
    if (isHistogramFamily(family)) {
      for (const series of snapshot(family)) {
        encoder.histogram(series);
        if (++inSlice === SLICE_SERIES) yield* flush();
      }
    } else if (isGaugeFamily(family)) {
      if (family.spec.labelNames.length === 0) family.lookup();
      for (const series of snapshot(family)) {
        if (!series.hasValue) continue;
        encoder.gauge(series);
        if (++inSlice === SLICE_SERIES) yield* flush();
      }
    } else {
      const counters = family as FamilyData<CounterData>;
      if (counters.spec.labelNames.length === 0) counters.lookup();
      for (const series of snapshot(counters)) {
        encoder.counter(series);
        if (++inSlice === SLICE_SERIES) yield* flush();
      }
    }
    encoder.end();
  }
  yield* flush();
}
