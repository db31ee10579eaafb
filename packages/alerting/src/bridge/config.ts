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

export const bridgeConfigSchema = z
  .object({
    listen: listenSchema,
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
  return { ...cfg, dataDir: path.resolve(path.dirname(path.resolve(file)), cfg.dataDir) };
}

/** Splits `host:port` (IPv6 in brackets). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/** Channels for an alert's labels: first matching route wins unless it says `continue`; none → the last route. */
export function routeAlert(routes: Route[], labels: Record<string, string>): string[] {
  const out = new Set<string>();
  let matched = false;
  for (const r of routes) {
    const eq = Object.entries(r.match).every(([k, v]) => (labels[k] ?? '') === v);
    const re = Object.entries(r.matchRe).every(([k, v]) =>
      new RegExp(`^(?:${v})$`).test(labels[k] ?? ''),
    );
    if (!eq || !re) continue;
    matched = true;
    r.channels.forEach((c) => out.add(c));
    if (!r.continue) break;
  }
  if (!matched) routes[routes.length - 1]!.channels.forEach((c) => out.add(c));
  return [...out];
}

export type { ChannelConfig };
