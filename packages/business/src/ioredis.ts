import type { Redis } from 'ioredis';

/** ioredis's client class, as ioredis 5 and 6 export it. */
export type RedisClass = typeof Redis;

/**
 * The app's ioredis, an optional peer dependency: required only when BIZMON_REDIS_URL is set, so
 * bizmon never brings a second copy and apps without Redis never load it. Returns the reason
 * instead when it cannot be loaded (not installed, or broken).
 */
export function loadIoredis(): RedisClass | string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('ioredis') as { Redis?: RedisClass; default?: RedisClass };
    const Redis = mod.Redis ?? mod.default;
    if (typeof Redis === 'function') return Redis;
    return 'the installed ioredis exports no Redis class (ioredis 5 or 6 is needed)';
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    if (code === 'MODULE_NOT_FOUND' && message.includes("'ioredis'"))
      return 'ioredis is not installed in this app (npm install ioredis)';
    return `ioredis could not be loaded (${message})`;
  }
}
