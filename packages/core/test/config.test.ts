import { resolveConfig } from '@bizmon/core';

let stderr: jest.SpyInstance;
beforeEach(() => {
  stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => stderr.mockRestore());

const logged = (): string => stderr.mock.calls.map((c) => String(c[0])).join('');

test('defaults follow the contract', () => {
  const config = resolveConfig({}, {});
  expect(config).toMatchObject({
    exporterHost: '0.0.0.0',
    exporterPort: 9464,
    metricsExporters: ['prometheus'],
    slowQueryThresholdMs: 1000,
    cardinalityLimit: 2000,
    timezone: 'UTC',
    disabled: false,
    adminToken: undefined,
    metricsToken: undefined,
    requestContext: 'on-demand',
    runtimeMetrics: true,
  });
  expect(logged()).toBe('');
});

test('environment variables are read and options override them', () => {
  const env = {
    OTEL_SERVICE_NAME: 'api',
    OTEL_EXPORTER_PROMETHEUS_PORT: '0',
    OTEL_METRICS_EXPORTER: 'prometheus, otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    BIZMON_TIMEZONE: 'Asia/Shanghai',
    BIZMON_DISABLED: 'true',
    BIZMON_HTTP_IGNORE: '/internal,/ping',
    BIZMON_REQUEST_CONTEXT: 'always',
    BIZMON_RUNTIME_METRICS: 'false',
  };
  const config = resolveConfig({ otelServiceName: 'from-options' }, env);
  expect(config).toMatchObject({
    serviceName: 'from-options',
    exporterPort: 0,
    metricsExporters: ['prometheus', 'otlp'],
    otlpEndpoint: 'http://127.0.0.1:4318',
    timezone: 'Asia/Shanghai',
    disabled: true,
    httpIgnorePaths: ['/internal', '/ping'],
    requestContext: 'always',
    runtimeMetrics: false,
  });
});

test('an invalid value warns once with the variable name and the accepted form, and the default is used', () => {
  const config = resolveConfig(
    {},
    {
      OTEL_EXPORTER_PROMETHEUS_PORT: '99999',
      BIZMON_CARDINALITY_LIMIT: 'lots',
      BIZMON_TIMEZONE: 'Mars/Olympus',
      OTEL_METRICS_EXPORTER: 'statsd',
      BIZMON_REDIS_URL: 'http://user:hunter2@redis',
      BIZMON_REQUEST_CONTEXT: 'sometimes',
    },
  );
  expect(config.exporterPort).toBe(9464);
  expect(config.cardinalityLimit).toBe(2000);
  expect(config.timezone).toBe('UTC');
  expect(config.metricsExporters).toEqual(['prometheus']);
  expect(config.redisUrl).toBeUndefined();
  expect(config.requestContext).toBe('on-demand');
  const out = logged();
  expect(out).toContain(
    'OTEL_EXPORTER_PROMETHEUS_PORT="99999" is invalid: expected a port number 0-65535',
  );
  expect(out).toContain('BIZMON_CARDINALITY_LIMIT="lots" is invalid');
  expect(out).toContain(
    'BIZMON_REQUEST_CONTEXT="sometimes" is invalid: expected on-demand or always',
  );
  expect(out).toContain('BIZMON_TIMEZONE="Mars/Olympus" is invalid: expected an IANA time zone');
  expect(out).toContain(
    'OTEL_METRICS_EXPORTER="statsd" is invalid: expected a comma list of prometheus, otlp, none',
  );
  // Secrets are never echoed.
  expect(out).toContain('BIZMON_REDIS_URL=(value hidden) is invalid');
  expect(out).not.toContain('hunter2');
});
