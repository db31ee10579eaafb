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
    exporterMaxConnections: 64,
    exporterTimeoutMs: 10_000,
    metricsExporters: ['prometheus'],
    slowQueryThresholdMs: 1000,
    cardinalityLimit: 2000,
    timezone: 'UTC',
    disabled: false,
    adminToken: undefined,
    metricsToken: undefined,
    // AsyncLocalStorage is cheap to enter from Node 24 on (AsyncContextFrame): see context.ts.
    requestContext: Number(process.versions.node.split('.')[0]) >= 24 ? 'always' : 'on-demand',
    runtimeMetrics: true,
    nativeHistograms: false,
    cluster: true,
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
    BIZMON_EXPORTER_MAX_CONNECTIONS: '8',
    BIZMON_EXPORTER_TIMEOUT_MS: '500',
    BIZMON_RUNTIME_METRICS: 'false',
    BIZMON_NATIVE_HISTOGRAMS: 'true',
    BIZMON_CLUSTER: 'false',
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
    exporterMaxConnections: 8,
    exporterTimeoutMs: 500,
    runtimeMetrics: false,
    nativeHistograms: true,
    cluster: false,
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

test('an invalid URL is echoed with its credentials masked', () => {
  resolveConfig(
    {},
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:pw-SECRET@otlp.example:99999/?api_key=k-SECRET' },
  );
  expect(logged()).toContain(
    'OTEL_EXPORTER_OTLP_ENDPOINT="https://***@otlp.example:99999/?api_key=***" is invalid',
  );
  expect(logged()).not.toContain('SECRET');
});

test('each form is parsed as documented: options may be typed values, variables are strings', () => {
  const config = resolveConfig(
    {
      otelExporterPrometheusPort: 9100,
      bizmonDisabled: false,
      bizmonHttpIgnore: [' /a ', '', '/b'],
      bizmonDbSlowQueryMs: '250.5',
    },
    {
      OTEL_SERVICE_NAME: '  padded  ',
      OTEL_METRICS_EXPORTER: 'none',
      BIZMON_CARDINALITY_LIMIT: ' 50 ',
      BIZMON_REDIS_URL: 'rediss://cache:6380',
      BIZMON_REDIS_PREFIX: 'app:',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example:4318/',
    },
  );
  expect(config).toMatchObject({
    serviceName: 'padded',
    exporterPort: 9100,
    disabled: false,
    httpIgnorePaths: ['/a', '/b'],
    slowQueryThresholdMs: 250.5,
    metricsExporters: ['none'],
    cardinalityLimit: 50,
    redisUrl: 'rediss://cache:6380',
    redisPrefix: 'app:',
    otlpEndpoint: 'https://collector.example:4318/',
  });
  expect(logged()).toBe('');
  for (const [value, disabled] of [
    ['1', true],
    ['yes', true],
    ['0', false],
    ['no', false],
  ] as const) {
    expect(resolveConfig({}, { BIZMON_DISABLED: value }).disabled).toBe(disabled);
  }
});

test('values of the wrong shape are rejected, not coerced', () => {
  const config = resolveConfig(
    {},
    {
      OTEL_EXPORTER_PROMETHEUS_PORT: '80.5',
      OTEL_METRICS_EXPORTER: ' , ',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector:21',
      BIZMON_CARDINALITY_LIMIT: '1',
      BIZMON_DB_SLOW_QUERY_MS: '-1',
      BIZMON_DISABLED: 'TRUE',
      BIZMON_HTTP_IGNORE: '/ok,relative',
      BIZMON_REDIS_PREFIX: 'has space',
    },
  );
  expect(config).toMatchObject({
    exporterPort: 9464,
    metricsExporters: ['prometheus'],
    otlpEndpoint: undefined,
    cardinalityLimit: 2000,
    slowQueryThresholdMs: 1000,
    disabled: false,
    httpIgnorePaths: [],
    redisPrefix: 'bizmon:',
  });
  const out = logged();
  for (const name of [
    'OTEL_EXPORTER_PROMETHEUS_PORT',
    'OTEL_METRICS_EXPORTER',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'BIZMON_CARDINALITY_LIMIT',
    'BIZMON_DB_SLOW_QUERY_MS',
    'BIZMON_DISABLED',
    'BIZMON_HTTP_IGNORE',
    'BIZMON_REDIS_PREFIX',
  ]) {
    expect(out).toContain(`${name}=`);
  }
});
