import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { instruments, resolveConfig, startTelemetry } from '@bizmon/core';
import { sampleValue, parseExposition } from '../../../../test/support/exposition';

let stderr: jest.SpyInstance;
beforeEach(() => {
  stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => stderr.mockRestore());

test("an app registering its own MeterProvider after bizmon gets it, and bizmon's series stay exact", async () => {
  const telemetry = await startTelemetry(
    resolveConfig({ otelExporterPrometheusPort: 0, otelExporterPrometheusHost: '127.0.0.1' }),
  );
  const appProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 3_600_000,
      }),
    ],
  });
  try {
    // Until then bizmon's provider takes the app's instruments: they appear on /metrics.
    metrics.getMeter('early').createCounter('early_orders').add(1);
    expect(await telemetry.scrape()).toContain('early_orders_total 1\n');

    // The app's SDK starts: its registration succeeds as it would without bizmon.
    expect(metrics.setGlobalMeterProvider(appProvider)).toBe(true);
    expect(metrics.getMeterProvider()).toBe(appProvider);
    metrics.getMeter('app').createCounter('late_orders').add(2);
    instruments.ai_tasks_submitted_total.labels('fallback-test').add(1);
    const text = await telemetry.scrape();
    expect(text).not.toContain('late_orders');
    expect(
      sampleValue(parseExposition(text), 'ai_tasks_submitted_total', { service: 'fallback-test' }),
    ).toBe(1);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(
      'the app registered its own MeterProvider',
    );
  } finally {
    await telemetry.shutdown();
  }
  // bizmon's shutdown leaves the app's provider registered.
  expect(metrics.getMeterProvider()).toBe(appProvider);
  metrics.disable();
  await appProvider.shutdown();
});

test('a MeterProvider the app registered before bizmon started stays the global one', async () => {
  const appProvider = new MeterProvider();
  expect(metrics.setGlobalMeterProvider(appProvider)).toBe(true);
  const telemetry = await startTelemetry(
    resolveConfig({ otelExporterPrometheusPort: 0, otelExporterPrometheusHost: '127.0.0.1' }),
  );
  try {
    expect(metrics.getMeterProvider()).toBe(appProvider);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(
      'another global MeterProvider is registered',
    );
  } finally {
    await telemetry.shutdown();
  }
  expect(metrics.getMeterProvider()).toBe(appProvider);
  metrics.disable();
  await appProvider.shutdown();
});
