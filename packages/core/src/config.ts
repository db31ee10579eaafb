import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { warn } from './log';

/** How metrics leave the process. */
export type MetricsExporterKind = 'prometheus' | 'otlp' | 'none';

/** bizmon's resolved configuration (CONTRACT.md §3). */
export interface BizmonConfig {
  serviceName: string;
  serviceVersion: string;
  exporterHost: string;
  /** 0 picks a free port. */
  exporterPort: number;
  metricsExporters: MetricsExporterKind[];
  otlpEndpoint: string | undefined;
  adminToken: string | undefined;
  metricsToken: string | undefined;
  slowQueryThresholdMs: number;
  cardinalityLimit: number;
  timezone: string;
  redisUrl: string | undefined;
  /** Prefix of bizmon's Redis keys (BIZMON_REDIS_PREFIX). */
  redisPrefix: string;
  disabled: boolean;
  /** Path prefixes whose requests are not counted (BIZMON_HTTP_IGNORE). */
  httpIgnorePaths: string[];
  /**
   * When requests start carrying a request context (BIZMON_REQUEST_CONTEXT): `on-demand` once
   * the app loads @bizmon/http or @bizmon/business (or first reads or sets the context),
   * `always` from the first request.
   */
  requestContext: RequestContextMode;
  /** Whether the process and Node.js runtime families are exported (BIZMON_RUNTIME_METRICS). */
  runtimeMetrics: boolean;
}

/** See {@link BizmonConfig.requestContext}. */
export type RequestContextMode = 'on-demand' | 'always';

/**
 * Options of start(): the environment variables' names in camelCase (`otelExporterPrometheusPort`
 * for OTEL_EXPORTER_PROMETHEUS_PORT). An option overrides its variable.
 */
export interface BizmonOptions {
  otelServiceName?: string;
  otelExporterPrometheusHost?: string;
  otelExporterPrometheusPort?: number | string;
  otelMetricsExporter?: string;
  otelExporterOtlpEndpoint?: string;
  bizmonAdminToken?: string;
  bizmonMetricsToken?: string;
  bizmonDbSlowQueryMs?: number | string;
  bizmonCardinalityLimit?: number | string;
  bizmonTimezone?: string;
  bizmonRedisUrl?: string;
  bizmonRedisPrefix?: string;
  bizmonDisabled?: boolean | string;
  bizmonHttpIgnore?: string | string[];
  bizmonRequestContext?: RequestContextMode;
  bizmonRuntimeMetrics?: boolean | string;
}

const EXPORTER_KINDS = ['prometheus', 'otlp', 'none'] as const;
const REQUEST_CONTEXT_MODES = ['on-demand', 'always'] as const;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const text = z.string().trim().min(1);
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const commaList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

/**
 * One row per variable: its schema, the accepted form (quoted in warnings), its default, and
 * whether its value is a secret (never echoed).
 */
const variables = {
  OTEL_SERVICE_NAME: { schema: text, form: 'a non-empty name' },
  OTEL_EXPORTER_PROMETHEUS_HOST: { schema: text, form: 'a host name or IP address' },
  OTEL_EXPORTER_PROMETHEUS_PORT: {
    schema: port,
    form: 'a port number 0-65535 (0 picks a free port)',
  },
  OTEL_METRICS_EXPORTER: {
    schema: commaList.pipe(z.array(z.enum(EXPORTER_KINDS)).min(1)),
    form: 'a comma list of prometheus, otlp, none',
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: { schema: z.url(), form: 'an http(s) URL' },
  BIZMON_ADMIN_TOKEN: { schema: text, form: 'a non-empty token', secret: true },
  BIZMON_METRICS_TOKEN: { schema: text, form: 'a non-empty token', secret: true },
  BIZMON_DB_SLOW_QUERY_MS: { schema: z.coerce.number().min(0).finite(), form: 'milliseconds >= 0' },
  BIZMON_CARDINALITY_LIMIT: { schema: positiveInt.min(2), form: 'a whole number >= 2' },
  BIZMON_TIMEZONE: {
    schema: text.refine(isTimeZone),
    form: 'an IANA time zone such as Asia/Shanghai',
  },
  BIZMON_REDIS_URL: {
    schema: z.string().regex(/^rediss?:\/\//),
    form: 'a redis:// or rediss:// URL',
    secret: true,
  },
  BIZMON_REDIS_PREFIX: {
    schema: z.string().regex(/^\S{1,100}$/),
    form: 'up to 100 characters without spaces',
  },
  BIZMON_DISABLED: { schema: bool, form: 'true or false' },
  BIZMON_HTTP_IGNORE: {
    schema: commaList.pipe(z.array(z.string().startsWith('/'))),
    form: 'a comma list of path prefixes starting with /',
  },
  BIZMON_REQUEST_CONTEXT: { schema: z.enum(REQUEST_CONTEXT_MODES), form: 'on-demand or always' },
  BIZMON_RUNTIME_METRICS: { schema: bool, form: 'true or false' },
} as const;

type VariableName = keyof typeof variables;

function camelCase(name: string): string {
  return name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function packageJson(): { name?: string; version?: string } {
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as unknown;
    return typeof pkg === 'object' && pkg !== null
      ? (pkg as { name?: string; version?: string })
      : {};
  } catch {
    return {};
  }
}

/**
 * Resolves the configuration from `options` over `env`. An invalid value is reported once, by
 * variable name with the accepted form, and its default is used: bad configuration never stops
 * the host app.
 */
export function resolveConfig(
  options: BizmonOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): BizmonConfig {
  function read<K extends VariableName>(
    name: K,
  ): z.output<(typeof variables)[K]['schema']> | undefined {
    const row = variables[name];
    const fromOptions = (options as Record<string, unknown>)[camelCase(name)];
    const raw = fromOptions ?? env[name];
    if (raw === undefined || raw === '') return undefined;
    const parsed = row.schema.safeParse(raw);
    if (parsed.success) return parsed.data as z.output<(typeof variables)[K]['schema']>;
    const shown = 'secret' in row && row.secret ? '(value hidden)' : JSON.stringify(String(raw));
    warn(`${name}=${shown} is invalid: expected ${row.form}; using the default`);
    return undefined;
  }

  const pkg = packageJson();
  return {
    serviceName:
      read('OTEL_SERVICE_NAME') ??
      (typeof pkg.name === 'string' && pkg.name ? pkg.name : 'unknown_service'),
    serviceVersion: typeof pkg.version === 'string' && pkg.version ? pkg.version : 'unknown',
    exporterHost: read('OTEL_EXPORTER_PROMETHEUS_HOST') ?? '0.0.0.0',
    exporterPort: read('OTEL_EXPORTER_PROMETHEUS_PORT') ?? 9464,
    metricsExporters: read('OTEL_METRICS_EXPORTER') ?? ['prometheus'],
    otlpEndpoint: read('OTEL_EXPORTER_OTLP_ENDPOINT'),
    adminToken: read('BIZMON_ADMIN_TOKEN'),
    metricsToken: read('BIZMON_METRICS_TOKEN'),
    slowQueryThresholdMs: read('BIZMON_DB_SLOW_QUERY_MS') ?? 1000,
    cardinalityLimit: read('BIZMON_CARDINALITY_LIMIT') ?? 2000,
    timezone: read('BIZMON_TIMEZONE') ?? 'UTC',
    redisUrl: read('BIZMON_REDIS_URL'),
    redisPrefix: read('BIZMON_REDIS_PREFIX') ?? 'bizmon:',
    disabled: read('BIZMON_DISABLED') ?? false,
    httpIgnorePaths: read('BIZMON_HTTP_IGNORE') ?? [],
    requestContext: read('BIZMON_REQUEST_CONTEXT') ?? 'on-demand',
    runtimeMetrics: read('BIZMON_RUNTIME_METRICS') ?? true,
  };
}
