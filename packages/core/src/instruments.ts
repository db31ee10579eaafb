import { catalog, type MetricSpec, type MetricName } from './catalog';
import { CounterFamily, GaugeFamily, HistogramFamily, setDropHook } from './registry';
import { state } from './state';

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

setDropHook((metric, reason) =>
  instruments.bizmon_dropped_measurements_total.labels(metric, reason).add(1),
);

type AnyFamily = CounterFamily | GaugeFamily | HistogramFamily;
const everyFamily = Object.freeze(Object.values(instruments) as AnyFamily[]);
const withoutRuntime = Object.freeze(everyFamily.filter((f) => f.spec.area !== 'runtime'));

/**
 * The families to collect, in catalog order: the runtime ones only while runtime metrics run
 * (state.runtimeMetrics), so an app that turned them off, or started core without
 * @bizmon/node, exports no empty process_* or nodejs_* families.
 */
export function allFamilies(): readonly AnyFamily[] {
  return state.runtimeMetrics ? everyFamily : withoutRuntime;
}
