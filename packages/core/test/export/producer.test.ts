import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { instruments } from '@bizmon/core';
import { BizmonMetricProducer, SCOPE_NAME } from '@bizmon/core/internal';
import { sampleValue } from '../../../../test/support/exposition';
import { useTelemetry } from '../../../../test/support/telemetry';

const bizmon = useTelemetry();

interface ExportedPoint {
  scope: string;
  attributes: Record<string, unknown>;
  value: unknown;
}

/** Every data point of `name` in an export, with the scope it came under. */
function pointsOf(exported: ResourceMetrics[], name: string): ExportedPoint[] {
  return exported.flatMap((rm) =>
    rm.scopeMetrics.flatMap((sm) =>
      sm.metrics
        .filter((m) => m.descriptor.name === name)
        .flatMap((m) =>
          m.dataPoints.map((p) => ({
            scope: sm.scope.name,
            attributes: p.attributes,
            value: p.value,
          })),
        ),
    ),
  );
}

test("an app's own MeterProvider exports bizmon's series through BizmonMetricProducer, each once", async () => {
  instruments.ai_tasks_submitted_total.labels('producer-test').add(3);
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: 3_600_000,
    metricProducers: [new BizmonMetricProducer('test')],
  });
  const appProvider = new MeterProvider({ readers: [reader] });
  try {
    appProvider.getMeter('app').createCounter('orders_placed').add(1);
    await reader.forceFlush();
    const exported = exporter.getMetrics();
    const submitted = pointsOf(exported, 'ai_tasks_submitted_total').filter(
      (p) => p.attributes.service === 'producer-test',
    );
    expect(submitted).toEqual([expect.objectContaining({ scope: SCOPE_NAME, value: 3 })]);
    expect(pointsOf(exported, 'orders_placed')).toEqual([
      expect.objectContaining({ scope: 'app', value: 1 }),
    ]);
    // bizmon's own /metrics still counts the series once: reading it elsewhere adds nothing.
    expect(
      sampleValue(await bizmon.scrape(), 'ai_tasks_submitted_total', { service: 'producer-test' }),
    ).toBe(3);
  } finally {
    await appProvider.shutdown();
  }
});
