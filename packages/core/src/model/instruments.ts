import { catalog, type MetricSpec, type MetricName } from './catalog';
import { CounterFamily, GaugeFamily, HistogramFamily, type AnyFamilyData } from './registry';
import { state } from '../base/state';

/** The family type a catalog spec produces. */
export type FamilyFor<S> =
  S extends MetricSpec<string, infer L, 'counter'>
    ? CounterFamily<L>
    : S extends MetricSpec<string, infer L, 'gauge'>
      ? GaugeFamily<L>
      : S extends MetricSpec<string, infer L, 'histogram'>
        ? HistogramFamily<L>
        : never;

/** Every catalog metric's family, keyed by metric name. */
export type Instruments = { readonly [K in MetricName]: FamilyFor<(typeof catalog)[K]> };

function familyFor(spec: MetricSpec): CounterFamily | GaugeFamily | HistogramFamily {
  const existing = state.families.get(spec.name);
  // Another copy of the same major version may have created it, with its own classes: the same
  // shape (state.ts), another identity, so only methods and fields are used, never instanceof.
  if (existing) return existing as CounterFamily | GaugeFamily | HistogramFamily;
  const created =
    spec.type === 'counter'
      ? new CounterFamily(spec)
      : spec.type === 'gauge'
        ? new GaugeFamily(spec)
        : new HistogramFamily(spec);
  state.families.set(spec.name, created);
  return created;
}

/**
 * The instruments, created once from the catalog (and shared with any other copy of
 * @bizmon/core in the process). Every package records through these.
 */
export const instruments: Instruments = Object.freeze(
  Object.fromEntries(Object.values(catalog).map((spec) => [spec.name, familyFor(spec)])),
) as unknown as Instruments;

// The first copy to load sets it; any copy's is the same shared counter.
state.recordDrop ??= (metric, reason) =>
  instruments.bizmon_dropped_measurements_total.labels(metric, reason).add(1);

/**
 * Every family of the process in creation order (this copy's catalog order, then metrics that
 * only another copy's catalog has), as export code reads them: by their specs. The runtime
 * families only while runtime metrics run (state.runtimeMetrics), so an app that turned them
 * off, or started core without @bizmon/node, exports no empty process_* or nodejs_* families.
 */
export function allFamilies(): Iterable<AnyFamilyData> {
  return state.runtimeMetrics ? state.families.values() : withoutRuntime(state.families.values());
}

function* withoutRuntime(families: Iterable<AnyFamilyData>): Generator<AnyFamilyData> {
  for (const family of families) if (family.spec.area !== 'runtime') yield family;
}
