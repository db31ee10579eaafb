import { totalmem } from 'node:os';
import { instruments } from '@bizmon/core';
import {
  isOwnRedisClient,
  onCollect,
  TrackedObjects,
  warnRateLimited,
  withTimeout,
} from '@bizmon/core/internal';
import { inProcessSize } from './in-process';
import { collectHitRate } from './record';

/** The parts of an ioredis client that bizmon uses. */
export interface RedisClientLike {
  status: string;
  options: {
    host?: string;
    port?: number;
    path?: string;
    readOnly?: boolean;
    connectionName?: string;
  };
  condition?: { subscriber?: unknown } | null;
  info(section: string): Promise<string>;
  ping(): Promise<string>;
}

/** INFO memory is fetched at most this often, however often Prometheus scrapes. */
export const MEMORY_MIN_INTERVAL_MS = 5000;
const INFO_TIMEOUT_MS = 900;
const PING_TIMEOUT_MS = 1500;

/** The app's clients (not bizmon's own), read for INFO memory and the `redis` health check. */
const clients = new TrackedObjects<RedisClientLike>({
  isLive: (client) => client.status !== 'end',
  health: { name: 'redis', check: checkRedis },
});
let unregisterCollect: (() => void) | undefined;

/** Starts tracking a client (called when it connects). */
export function trackClient(client: RedisClientLike): void {
  try {
    if (isOwnRedisClient(client)) return;
    if (clients.add(client, undefined)) startClientTracking();
  } catch {
    // Instrumentation never throws into app code.
  }
}

/** Live clients grouped by server; replicas of a cluster are left out (their data is the master's). */
function servers(): Map<string, RedisClientLike[]> {
  const byServer = new Map<string, RedisClientLike[]>();
  const live = clients.live();
  for (let i = live.length - 1; i >= 0; i--) {
    const client = live[i]!.object;
    if (client.options.readOnly) continue;
    const key =
      client.options.path ?? `${client.options.host ?? 'localhost'}:${client.options.port ?? 6379}`;
    const list = byServer.get(key);
    if (list) list.unshift(client);
    else byServer.set(key, [client]);
  }
  return byServer;
}

function usable(list: RedisClientLike[]): RedisClientLike | undefined {
  return list.find((c) => c.status === 'ready' && !c.condition?.subscriber);
}

interface Memory {
  used: number;
  ratio: number | undefined;
}

function field(info: string, name: string): number | undefined {
  const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : undefined;
}

/** used_memory and used_memory / maxmemory (total_system_memory when maxmemory is 0). */
export function parseMemoryInfo(info: string): Memory | undefined {
  const used = field(info, 'used_memory');
  if (used === undefined) return undefined;
  const max = field(info, 'maxmemory');
  const system = field(info, 'total_system_memory') || totalmem();
  const limit = max !== undefined && max > 0 ? max : system;
  return { used, ratio: limit > 0 ? used / limit : undefined };
}

let lastFetch = -Infinity;
let inflight: Promise<void> | undefined;
let memory: { used: number; ratio: number | undefined } | undefined;

async function fetchMemory(): Promise<void> {
  const figures: Memory[] = [];
  await Promise.all(
    [...servers().values()].map(async (list) => {
      const client = usable(list);
      if (!client) return;
      try {
        const m = parseMemoryInfo(
          await withTimeout(client.info('memory'), INFO_TIMEOUT_MS, 'INFO memory'),
        );
        if (m) figures.push(m);
      } catch (err) {
        warnRateLimited(
          'cache-info',
          `could not read Redis INFO memory: ${(err as Error).message}`,
        );
      }
    }),
  );
  // Several servers: the memory of all of them, and the fullest one's ratio (what an alert wants).
  memory =
    figures.length === 0
      ? undefined
      : {
          used: figures.reduce((s, m) => s + m.used, 0),
          ratio: figures.reduce<number | undefined>(
            (r, m) => (m.ratio === undefined ? r : Math.max(r ?? 0, m.ratio)),
            undefined,
          ),
        };
}

/**
 * Sets cache_size_bytes and redis_memory_usage_ratio. INFO is fetched at most once per
 * MEMORY_MIN_INTERVAL_MS and never twice at once, so frequent scrapes reuse the last figures.
 */
export async function collectMemory(now = Date.now()): Promise<void> {
  if (now - lastFetch >= MEMORY_MIN_INTERVAL_MS && !inflight) {
    lastFetch = now;
    inflight = fetchMemory().finally(() => (inflight = undefined));
  }
  if (inflight) await inflight;
  const size = instruments.cache_size_bytes.labels();
  const ratio = instruments.redis_memory_usage_ratio.labels();
  if (memory) {
    size.set(memory.used);
    if (memory.ratio !== undefined) ratio.set(memory.ratio);
    else ratio.clear();
    return;
  }
  ratio.clear();
  const local = inProcessSize();
  if (local !== undefined) size.set(local);
  else size.clear();
}

/** `redis` health check: PING every server the app's clients use. */
async function checkRedis(): Promise<{ healthy: boolean; message: string }> {
  const byServer = servers();
  if (byServer.size === 0) return { healthy: true, message: 'not configured' };
  const problems: string[] = [];
  await Promise.all(
    [...byServer].map(async ([server, list]) => {
      const client = usable(list);
      if (!client) {
        problems.push(`${server}: connection is ${list[0]!.status}`);
        return;
      }
      try {
        await withTimeout(client.ping(), PING_TIMEOUT_MS, 'PING');
      } catch (err) {
        problems.push(`${server}: ${(err as Error).message}`);
      }
    }),
  );
  return problems.length === 0
    ? { healthy: true, message: 'ok' }
    : { healthy: false, message: problems.sort().join('; ') };
}

async function collect(): Promise<void> {
  collectHitRate();
  await collectMemory();
}

/** Registers the hit-rate and memory collector, and the health check once a client exists (idempotent). */
export function startClientTracking(): void {
  unregisterCollect ??= onCollect(collect);
  clients.start();
}

export function stopClientTracking(): void {
  unregisterCollect?.();
  unregisterCollect = undefined;
  clients.stop();
  lastFetch = -Infinity;
  memory = undefined;
}
