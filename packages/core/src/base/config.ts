import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestContextIsCheap } from './context';
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
  /**
   * Most connections the exporter holds at once (BIZMON_EXPORTER_MAX_CONNECTIONS); more are
   * closed as they arrive, so a flood of slow sockets cannot use up the app's file descriptors.
   */
  exporterMaxConnections: number;
  /**
   * How long the exporter waits for a request's headers and whole request before answering 408
   * (BIZMON_EXPORTER_TIMEOUT_MS); a socket making no progress either way closes after twice
   * that, an idle keep-alive one after at most 5 s.
   */
  exporterTimeoutMs: number;
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
   * `always` from the first request. Default `always` where AsyncLocalStorage is cheap to enter
   * (Node 24; see requestContextIsCheap), else `on-demand`.
   */
  requestContext: RequestContextMode;
  /** Whether the process and Node.js runtime families are exported (BIZMON_RUNTIME_METRICS). */
  runtimeMetrics: boolean;
  /**
   * Whether histograms also keep native (sparse, exponential) buckets, exposed in the protobuf
   * format beside the classic ones (BIZMON_NATIVE_HISTOGRAMS; native-histogram.ts).
   */
  nativeHistograms: boolean;
  /**
   * Whether a clustered service (node:cluster workers, PM2 cluster mode) serves one `/metrics`
   * merged over its processes (BIZMON_CLUSTER; see export/cluster/index.ts and packages/node/README.md). Without cluster workers
   * it changes nothing.
   */
  cluster: boolean;
  /**
   * Whether the HTTP and DB duration histograms keep `trace_id`/`span_id` exemplars from the
   * active sampled span (BIZMON_EXEMPLARS), shown in OpenMetrics and protobuf.
   */
  exemplars: boolean;
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
  bizmonExporterMaxConnections?: number | string;
  bizmonExporterTimeoutMs?: number | string;
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
  bizmonNativeHistograms?: boolean | string;
  bizmonCluster?: boolean | string;
  bizmonExemplars?: boolean | string;
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

/*
 * The parsers: each takes an option's or variable's raw value and returns the parsed value, or
 * undefined when it is invalid. Plain functions rather than a schema library: every process
 * started under NODE_OPTIONS runs them, and loading zod cost 19 ms of that start-up (median of
 * 11 processes, Node 20; bench/startup.mjs) for a dozen one-line checks.
 */
type Parser<T> = (raw: unknown) => T | undefined;

const text: Parser<string> = (raw) => {
  const s = typeof raw === 'string' ? raw.trim() : undefined;
  return s ? s : undefined;
};
/** A number as written (`Number()`, as `z.coerce.number()` did), an integer in [min, max]. */
const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw) => {
    const n = typeof raw === 'number' || typeof raw === 'string' ? Number(raw) : NaN;
    return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
  };
const TRUE = ['true', '1', 'yes'];
const FALSE = ['false', '0', 'no'];
const bool: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw !== 'string') return undefined;
  return TRUE.includes(raw) ? true : FALSE.includes(raw) ? false : undefined;
};
/** A comma list (or an array of strings) whose every item passes `item`. */
const commaList =
  <T extends string>(item: (s: string) => s is T, minItems: number): Parser<T[]> =>
  (raw) => {
    const items = typeof raw === 'string' ? raw.split(',') : raw;
    if (!Array.isArray(items) || !items.every((s) => typeof s === 'string')) return undefined;
    const list = (items as string[]).map((s) => s.trim()).filter(Boolean);
    return list.length >= minItems && list.every(item) ? (list as T[]) : undefined;
  };
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (s: unknown): s is T =>
    (values as readonly unknown[]).includes(s);
const matching =
  (pattern: RegExp): Parser<string> =>
  (raw) =>
    typeof raw === 'string' && pattern.test(raw) ? raw : undefined;
const httpUrl: Parser<string> = (raw) => {
  const s = text(raw);
  if (s === undefined || !URL.canParse(s)) return undefined;
  return /^https?:$/.test(new URL(s).protocol) ? s : undefined;
};

/**
 * One row per variable: its parser, the accepted form (quoted in warnings), and whether its
 * value is a secret (never echoed).
 */
const variables = {
  OTEL_SERVICE_NAME: { parse: text, form: 'a non-empty name' },
  OTEL_EXPORTER_PROMETHEUS_HOST: { parse: text, form: 'a host name or IP address' },
  OTEL_EXPORTER_PROMETHEUS_PORT: {
    parse: integer(0, 65535),
    form: 'a port number 0-65535 (0 picks a free port)',
  },
  BIZMON_EXPORTER_MAX_CONNECTIONS: { parse: integer(1), form: 'a whole number >= 1' },
  BIZMON_EXPORTER_TIMEOUT_MS: { parse: integer(100), form: 'milliseconds >= 100' },
  OTEL_METRICS_EXPORTER: {
    parse: commaList(oneOf(EXPORTER_KINDS), 1),
    form: 'a comma list of prometheus, otlp, none',
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: { parse: httpUrl, form: 'an http(s) URL' },
  BIZMON_ADMIN_TOKEN: { parse: text, form: 'a non-empty token', secret: true },
  BIZMON_METRICS_TOKEN: { parse: text, form: 'a non-empty token', secret: true },
  BIZMON_DB_SLOW_QUERY_MS: {
    parse: (raw: unknown) => {
      const n = typeof raw === 'number' || typeof raw === 'string' ? Number(raw) : NaN;
      return Number.isFinite(n) && n >= 0 ? n : undefined;
    },
    form: 'milliseconds >= 0',
  },
  BIZMON_CARDINALITY_LIMIT: { parse: integer(2), form: 'a whole number >= 2' },
  BIZMON_TIMEZONE: {
    parse: (raw: unknown) => {
      const zone = text(raw);
      return zone !== undefined && isTimeZone(zone) ? zone : undefined;
    },
    form: 'an IANA time zone such as Asia/Shanghai',
  },
  BIZMON_REDIS_URL: {
    parse: matching(/^rediss?:\/\//),
    form: 'a redis:// or rediss:// URL',
    secret: true,
  },
  BIZMON_REDIS_PREFIX: {
    parse: matching(/^\S{1,100}$/),
    form: 'up to 100 characters without spaces',
  },
  BIZMON_DISABLED: { parse: bool, form: 'true or false' },
  BIZMON_HTTP_IGNORE: {
    parse: commaList((s): s is string => s.startsWith('/'), 0),
    form: 'a comma list of path prefixes starting with /',
  },
  BIZMON_REQUEST_CONTEXT: {
    parse: (raw: unknown) => (oneOf(REQUEST_CONTEXT_MODES)(raw) ? raw : undefined),
    form: 'on-demand or always',
  },
  BIZMON_RUNTIME_METRICS: { parse: bool, form: 'true or false' },
  BIZMON_NATIVE_HISTOGRAMS: { parse: bool, form: 'true or false' },
  BIZMON_CLUSTER: { parse: bool, form: 'true or false' },
  BIZMON_EXEMPLARS: { parse: bool, form: 'true or false' },
} as const;

type VariableName = keyof typeof variables;
type ValueOf<K extends VariableName> = Exclude<
  ReturnType<(typeof variables)[K]['parse']>,
  undefined
>;

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
 * The environment bizmon reads: `process.env`, plus, in a PM2 instance while PM2's wrapper has
 * not yet run (a preload runs before it), the app's variables that PM2 passes in `pm2_env` and
 * the wrapper copies into `process.env` (pm2/lib/ProcessContainer.js) — else a preloaded PM2
 * app's OTEL_ and BIZMON_ variables would be ignored. Parsed only where `pm2_env` is set.
 */
export function processEnv(): NodeJS.ProcessEnv {
  const passed = process.env.pm2_env;
  if (passed === undefined) return process.env;
  try {
    const parsed = JSON.parse(passed) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return process.env;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [name, value] of Object.entries(parsed)) {
      // The wrapper assigns every key; objects (PM2's own settings) are of no use here.
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
        env[name] = String(value);
    }
    return env;
  } catch {
    return process.env;
  }
}

/**
 * Resolves the configuration from `options` over `env`. An invalid value is reported once, by
 * variable name with the accepted form, and its default is used: bad configuration never stops
 * the host app.
 */
export function resolveConfig(
  options: BizmonOptions = {},
  env: NodeJS.ProcessEnv = processEnv(),
): BizmonConfig {
  function read<K extends VariableName>(name: K): ValueOf<K> | undefined {
    const row = variables[name];
    const fromOptions = (options as Record<string, unknown>)[camelCase(name)];
    const raw = fromOptions ?? env[name];
    if (raw === undefined || raw === '') return undefined;
    const parsed = row.parse(raw) as ValueOf<K> | undefined;
    if (parsed !== undefined) return parsed;
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
    exporterMaxConnections: read('BIZMON_EXPORTER_MAX_CONNECTIONS') ?? 64,
    exporterTimeoutMs: read('BIZMON_EXPORTER_TIMEOUT_MS') ?? 10_000,
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
    requestContext:
      read('BIZMON_REQUEST_CONTEXT') ?? (requestContextIsCheap ? 'always' : 'on-demand'),
    runtimeMetrics: read('BIZMON_RUNTIME_METRICS') ?? true,
    nativeHistograms: read('BIZMON_NATIVE_HISTOGRAMS') ?? false,
    cluster: read('BIZMON_CLUSTER') ?? true,
    exemplars: read('BIZMON_EXEMPLARS') ?? true,
  };
}
