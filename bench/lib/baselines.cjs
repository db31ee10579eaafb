// The baselines every benchmark compares against, defined once: prom-client's versions of
// bizmon's HTTP metrics, and the stock OpenTelemetry SDK (the same copies bizmon's core uses).
'use strict';
const { createRequire } = require('node:module');
const client = require('prom-client');

const HTTP_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** prom-client's http_requests_total, http_request_duration_seconds and in-flight gauge on a new registry. */
function promClientHttpMetrics() {
  const registry = new client.Registry();
  const requests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests served.',
    labelNames: ['method', 'endpoint', 'status_code', 'user_role'],
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds.',
    labelNames: ['method', 'endpoint'],
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const inflight = new client.Gauge({
    name: 'http_concurrent_connections',
    help: 'HTTP requests in flight.',
    registers: [registry],
  });
  return { registry, requests, duration, inflight };
}

/** The OpenTelemetry SDK classes, from the exporter-prometheus copy that @bizmon/core depends on. */
function openTelemetrySdk() {
  const fromCore = createRequire(require.resolve('@bizmon/core/package.json'));
  const exporterPath = fromCore.resolve('@opentelemetry/exporter-prometheus');
  const { PrometheusExporter, PrometheusSerializer } = require(exporterPath);
  const { MeterProvider } = createRequire(exporterPath)('@opentelemetry/sdk-metrics');
  const { AsyncLocalStorageContextManager } = fromCore('@opentelemetry/context-async-hooks');
  return {
    PrometheusExporter,
    PrometheusSerializer,
    MeterProvider,
    AsyncLocalStorageContextManager,
  };
}

module.exports = { HTTP_BUCKETS, promClientHttpMetrics, openTelemetrySdk };
