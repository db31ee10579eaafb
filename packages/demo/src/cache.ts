import Redis from 'ioredis';
import { instrumentCache } from '@bizmon/cache';
import { redactUrls } from '@bizmon/core/internal';

/** The demo's cache of user records: Redis at REDIS_URL, else an in-process Map. */
export interface Cache {
  description: string;
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** How long a user record stays cached; writes update it, so it only ages out when idle. */
const TTL_SECONDS = 300;

/** A Map whose entries expire, so the in-process cache has misses like a real one. */
class ExpiringMap extends Map<string, string> {
  private readonly expiry = new Map<string, number>();
  constructor(private readonly ttlMs: number) {
    super();
  }
  override get(key: string): string | undefined {
    const until = this.expiry.get(key);
    if (until !== undefined && until < Date.now()) this.delete(key);
    return super.get(key);
  }
  override set(key: string, value: string): this {
    this.expiry.set(key, Date.now() + this.ttlMs);
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    this.expiry.delete(key);
    return super.delete(key);
  }
  override clear(): void {
    this.expiry.clear();
    super.clear();
  }
}

export function openCache(): Cache {
  const url = process.env.REDIS_URL;
  if (url) {
    const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => {}); // reported by bizmon's redis health check
    return {
      description: `Redis at ${redactUrls(url)}`,
      async get(key) {
        return (await redis.get(key)) ?? undefined;
      },
      async set(key, value) {
        await redis.set(key, value, 'EX', TTL_SECONDS);
      },
      async delete(key) {
        await redis.del(key);
      },
      async close() {
        redis.disconnect();
      },
    };
  }
  // Same cache metrics without Redis: bizmon wraps the Map.
  const map = instrumentCache(new ExpiringMap(TTL_SECONDS * 1000), { name: 'users' });
  return {
    description: 'in-process cache (set REDIS_URL to use Redis)',
    async get(key) {
      return map.get(key);
    },
    async set(key, value) {
      map.set(key, value);
    },
    async delete(key) {
      map.delete(key);
    },
    async close() {
      map.clear();
    },
  };
}
