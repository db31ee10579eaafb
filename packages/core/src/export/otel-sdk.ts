/* eslint-disable @typescript-eslint/no-require-imports -- deferred loading is the point here */
import type * as Api from '@opentelemetry/api';
import type * as OtelCore from '@opentelemetry/core';
import type * as ExporterPrometheus from '@opentelemetry/exporter-prometheus';
import type * as Resources from '@opentelemetry/resources';
import type * as SdkMetrics from '@opentelemetry/sdk-metrics';
import { deferred } from '../base/deferred';

/**
 * The OpenTelemetry SDK packages, each required on first use (base/deferred.ts): these four
 * cost about 35 ms and 10 MiB of every start on Node 20 (bench/startup.mjs), and are needed
 * only once the process scrapes, pushes OTLP or creates an OpenTelemetry meter of its own.
 * `@opentelemetry/api` too (5–9 MiB on Node 20–24): the preload registers the global
 * MeterProvider when the app first requires it (telemetry.ts).
 */
export const otelApi = deferred(() => require('@opentelemetry/api') as typeof Api);
export const sdkMetrics = deferred(
  () => require('@opentelemetry/sdk-metrics') as typeof SdkMetrics,
);
export const otelResources = deferred(
  () => require('@opentelemetry/resources') as typeof Resources,
);
export const otelCore = deferred(() => require('@opentelemetry/core') as typeof OtelCore);
export const exporterPrometheus = deferred(
  () => require('@opentelemetry/exporter-prometheus') as typeof ExporterPrometheus,
);
