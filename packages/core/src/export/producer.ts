import type { Attributes } from '@opentelemetry/api';
import type {
  CollectionResult,
  DataPoint,
  Histogram,
  MetricData,
  MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { allFamilies } from '../model/instruments';
import {
  isGaugeFamily,
  isHistogramFamily,
  type CounterData,
  type FamilyData,
  type GaugeData,
  type SeriesBase,
} from '../model/registry';
import { state } from '../base/state';
import { warnRateLimited } from '../base/log';
import { otelApi, otelCore, otelResources, sdkMetrics } from './otel-sdk';
import { withTimeout } from '../base/timeout';

/** Instrumentation scope name of bizmon's metrics. */
export const SCOPE_NAME = 'bizmon';

/** A collect callback still running after this long is abandoned for this collection. */
const CALLBACK_TIMEOUT_MS = 1000;

/**
 * Registers `fn` to run before each collection (for gauges read from elsewhere, such as Redis
 * INFO). Errors and time-outs are logged, never thrown. Returns a function that removes it.
 */
export function onCollect(fn: () => void | Promise<void>): () => void {
  state.collectCallbacks.add(fn);
  return () => state.collectCallbacks.delete(fn);
}

/** @internal Runs every onCollect callback (each bounded by the time-out); never throws. */
export async function runCollectCallbacks(): Promise<void> {
  if (state.collectCallbacks.size === 0) return;
  await Promise.all(
    [...state.collectCallbacks].map(async (fn) => {
      try {
        await withTimeout(fn, CALLBACK_TIMEOUT_MS, 'a collect callback');
      } catch (err) {
        warnRateLimited(
          'collect-callback',
          `a collect callback failed: ${(err as Error)?.message ?? String(err)}`,
        );
      }
    }),
  );
}

/**
 * A series' labels as OpenTelemetry attributes, built on each export and not kept: only OTLP
 * needs them, once a minute by default, and a field on every series to cache them would cost
 * every process 8 bytes per series (bench/memory.mjs).
 */
function attributesOf(labelNames: readonly string[], series: SeriesBase): Attributes {
  const attributes: Attributes = {};
  const values = series.labelValues;
  for (let i = 0; i < labelNames.length; i++) attributes[labelNames[i]!] = values[i];
  return attributes;
}

/**
 * Hands bizmon's series to OpenTelemetry metric readers (the Prometheus exporter, OTLP) as a
 * MetricProducer, so they are collected and exported with the SDK's own metrics.
 */
export class BizmonMetricProducer implements MetricProducer {
  private readonly startedAt = Date.now();

  constructor(private readonly version: string) {}

  async collect(): Promise<CollectionResult> {
    await runCollectCallbacks();
    // The SDK is loaded by the first collection, not by bizmon's start (otel-sdk.ts).
    const { millisToHrTime } = otelCore();
    const { AggregationTemporality, DataPointType } = sdkMetrics();
    const { ValueType } = otelApi();
    const endTime = millisToHrTime(Date.now());
    const startTime = millisToHrTime(this.startedAt);
    const metrics: MetricData[] = [];
    for (const family of allFamilies()) {
      const { spec } = family;
      const descriptor = {
        name: spec.name,
        description: spec.help,
        unit: spec.unit,
        valueType: ValueType.DOUBLE,
      };
      // By the spec, not the class: the family may come from another copy of @bizmon/core.
      if (!isHistogramFamily(family)) {
        const gauge = isGaugeFamily(family);
        if (spec.labelNames.length === 0) family.lookup();
        const dataPoints: DataPoint<number>[] = [];
        (family as FamilyData<CounterData | GaugeData>).forEach((s) => {
          if (gauge && !(s as GaugeData).hasValue) return;
          dataPoints.push({
            startTime,
            endTime,
            attributes: attributesOf(spec.labelNames, s),
            value: s.value,
          });
        });
        const aggregationTemporality = AggregationTemporality.CUMULATIVE;
        metrics.push(
          gauge
            ? { descriptor, aggregationTemporality, dataPointType: DataPointType.GAUGE, dataPoints }
            : {
                descriptor,
                aggregationTemporality,
                dataPointType: DataPointType.SUM,
                isMonotonic: true,
                dataPoints,
              },
        );
      } else {
        const boundaries = [...(spec.buckets ?? [])];
        const dataPoints: DataPoint<Histogram>[] = [];
        family.forEach((s) =>
          dataPoints.push({
            startTime,
            endTime,
            attributes: attributesOf(spec.labelNames, s),
            value: {
              buckets: { boundaries, counts: [...s.counts] },
              sum: s.sum,
              count: s.count,
              ...(s.count > 0 ? { min: s.min, max: s.max } : {}),
            },
          }),
        );
        metrics.push({
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints,
        });
      }
    }
    return {
      resourceMetrics: {
        resource: otelResources().emptyResource(),
        scopeMetrics: [{ scope: { name: SCOPE_NAME, version: this.version }, metrics }],
      },
      errors: [],
    };
  }
}
