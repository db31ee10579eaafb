import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { channelConfigSchema, deliverySchema, formatIssues, type ChannelConfig } from '../config';
import { isTimeZone } from '../manager';

const routeSchema = z
  .object({
    /** Label equality matchers; all must hold. */
    match: z.record(z.string(), z.string()).default({}),
    /** Label regex matchers (anchored, as in Alertmanager); all must hold. */
    matchRe: z.record(z.string(), z.string()).default({}),
    channels: z.array(z.string().min(1)).min(1),
    /** Keep looking at later routes after this one matched. */
    continue: z.boolean().default(false),
  })
  .strict();

const listenSchema = z
  .string()
  .regex(/^(\[[^\]]+\]|[^:]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9095')
  .default('127.0.0.1:9095');

/**
 * Credentials Alertmanager must send on `POST /alerts` (its receiver's `http_config`). Either or
 * both; a request passes with any one of them. Compared in constant time.
 */
const secret = z.string().min(16, 'at least 16 characters');
const authSchema = z
  .object({
    /** `Authorization: Bearer <token>` (scheme case-insensitive). */
    bearerToken: secret.optional(),
    /** …or a file holding the token (a Kubernetes or Docker secret); surrounding whitespace is ignored. */
    bearerTokenFile: z.string().min(1).optional(),
    /** `Authorization: Basic …`. */
    basicAuth: z
      .object({
        username: z.string().min(1),
        password: secret.optional(),
        passwordFile: z.string().min(1).optional(),
      })
      .strict()
      .refine((b) => (b.password === undefined) !== (b.passwordFile === undefined), {
        message: 'set password or passwordFile',
      })
      .optional(),
  })
  .strict()
  .refine((a) => !(a.bearerToken !== undefined && a.bearerTokenFile !== undefined), {
    message: 'set bearerToken or bearerTokenFile, not both',
  })
  .refine(
    (a) =>
      a.bearerToken !== undefined || a.bearerTokenFile !== undefined || a.basicAuth !== undefined,
    { message: 'set bearerToken (or bearerTokenFile), basicAuth or both' },
  );

const MiB = 1024 * 1024;

/**
 * Bounds on what the bridge holds, so a flood cannot delay real pages or exhaust memory and
 * disk. Defaults here are the documented ones (README "Limits and priority").
 */
export const limitsSchema = z
  .object({
    /** Largest `POST /alerts` body; larger gets 413. */
    maxBodyBytes: z.number().int().positive().default(MiB),
    /**
     * Most alerts kept from one post (most severe first); the rest are counted in the message's
     * "N more alerts were left out", as Alertmanager's own `max_alerts` does.
     */
    maxAlertsPerPost: z.number().int().positive().default(1000),
    /** Longest annotation value; longer ones are cut, ending with a "…truncated" marker. */
    maxAnnotationBytes: z.number().int().min(256).default(4096),
    /**
     * Largest alert (labels, annotations, URLs as stored). Past it, its longest values are cut
     * and, if that is not enough, its extra labels and annotations are left out (and counted).
     */
    maxAlertBytes: z
      .number()
      .int()
      .min(4096)
      .default(16 * 1024),
    /** Most the outbox may hold on disk (and so in memory); past it the lowest severity is shed. */
    maxOutboxBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(64 * MiB),
    /** Most notifications the outbox may hold; past it the lowest severity is shed. */
    maxOutboxEntries: z.number().int().positive().default(10_000),
    /** Webhook bodies read at once; further posts wait their turn (bounds memory). */
    maxConcurrentPosts: z.number().int().positive().default(16),
  })
  .strict();

export const bridgeConfigSchema = z
  .object({
    listen: listenSchema,
    /** Credentials required on POST /alerts; required unless listening on loopback or `insecure`. */
    auth: authSchema.optional(),
    /** Allows listening on a non-loopback address without `auth`. */
    insecure: z.boolean().default(false),
    limits: limitsSchema.default(limitsSchema.parse({})),
    dataDir: z.string().min(1).default('./data/bridge'),
    language: z.enum(['zh', 'en']).default('zh'),
    timeZone: z.string().refine(isTimeZone, 'unknown time zone').optional(),
    /** Names the sender in messages. */
    source: z.string().min(1).default('alertmanager'),
    /** Delivery tuning; by default the bridge retries a retryable failure forever (the outbox keeps it). */
    delivery: deliverySchema.default({
      timeoutMs: 10_000,
      retryBaseMs: 1_000,
      retryMaxMs: 300_000,
    }),
    /** How long SIGTERM waits for queued deliveries before leaving the rest in the outbox. */
    drainTimeoutMs: z.number().int().nonnegative().default(10_000),
    channels: z.record(
      z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : - only'),
      channelConfigSchema,
    ),
    routes: z.array(routeSchema).min(1),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (!cfg.auth && !cfg.insecure && !isLoopback(parseListen(cfg.listen).host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message:
          `listen ${cfg.listen} is reachable from other hosts, so anyone there could post alerts: ` +
          'set auth (bearerToken and/or basicAuth, sent by Alertmanager in http_config), or ' +
          'insecure: true to run without',
      });
    }
    cfg.routes.forEach((r, i) => {
      r.channels.forEach((c, j) => {
        if (!(c in cfg.channels)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'channels', j],
            message: `unknown channel "${c}"`,
          });
        }
      });
      for (const [label, re] of Object.entries(r.matchRe)) {
        try {
          new RegExp(re);
        } catch {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'matchRe', label],
            message: 'invalid regular expression',
          });
        }
      }
    });
  });

export type BridgeConfig = z.output<typeof bridgeConfigSchema>;
export type BridgeAuth = z.output<typeof authSchema>;
export type BridgeLimits = z.output<typeof limitsSchema>;
export type BridgeConfigInput = z.input<typeof bridgeConfigSchema>;
export type Route = BridgeConfig['routes'][number];

/** Replaces `${VAR}` in every string of a parsed YAML document; unset variables are an error. */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, missing: Set<string>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) {
        missing.add(name);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => expandEnv(v, env, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, missing)]),
    );
  }
  return value;
}

/**
 * Reads and validates a bridge config file. `${VAR}` is taken from `env`; a relative `dataDir`
 * is relative to the config file. Errors name the field, never its value.
 */
export function loadBridgeConfig(file: string, env: NodeJS.ProcessEnv = process.env): BridgeConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    // Only the first line: YAML errors continue with a frame of the file, which may hold a secret.
    throw new Error(`cannot read config ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const missing = new Set<string>();
  const expanded = expandEnv(doc, env, missing);
  if (missing.size) {
    throw new Error(`config ${file}: environment variable(s) not set: ${[...missing].join(', ')}`);
  }
  const parsed = bridgeConfigSchema.safeParse(expanded);
  if (!parsed.success) throw new Error(`config ${file}: ${formatIssues(parsed.error)}`);
  const cfg = parsed.data;
  const dir = path.dirname(path.resolve(file));
  return {
    ...cfg,
    auth: cfg.auth && readAuthFiles(cfg.auth, dir, file),
    dataDir: path.resolve(dir, cfg.dataDir),
  };
}

/** Fills `bearerToken` / `basicAuth.password` from their files (relative to the config file). */
function readAuthFiles(auth: BridgeAuth, dir: string, configFile: string): BridgeAuth {
  const read = (field: string, f: string): string => {
    let value: string;
    try {
      value = readFileSync(path.resolve(dir, f), 'utf8').trim();
    } catch (err) {
      throw new Error(
        `config ${configFile}: ${field}: cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    if (value.length < 16)
      throw new Error(`config ${configFile}: ${field}: ${f} holds fewer than 16 characters`);
    return value;
  };
  const out: BridgeAuth = { ...auth };
  if (auth.bearerTokenFile) out.bearerToken = read('auth.bearerTokenFile', auth.bearerTokenFile);
  if (auth.basicAuth?.passwordFile) {
    out.basicAuth = {
      ...auth.basicAuth,
      password: read('auth.basicAuth.passwordFile', auth.basicAuth.passwordFile),
    };
  }
  return out;
}

/** Splits `host:port` (IPv6 in brackets). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/** Whether a listen host only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Compiled route patterns; keys come from the config only, so the map stays small. */
const compiled = new Map<string, RegExp>();

function anchored(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`);
    compiled.set(pattern, re);
  }
  return re;
}

/** Channels for an alert's labels: first matching route wins unless it says `continue`; none → the last route. */
export function routeAlert(routes: Route[], labels: Record<string, string>): string[] {
  const out = new Set<string>();
  let matched = false;
  for (const r of routes) {
    const eq = Object.entries(r.match).every(([k, v]) => (labels[k] ?? '') === v);
    const re = Object.entries(r.matchRe).every(([k, v]) => anchored(v).test(labels[k] ?? ''));
    if (!eq || !re) continue;
    matched = true;
    r.channels.forEach((c) => out.add(c));
    if (!r.continue) break;
  }
  if (!matched) routes[routes.length - 1]!.channels.forEach((c) => out.add(c));
  return [...out];
}

export type { ChannelConfig };
