export { plugin } from './plugin';
export { instrumentCache, type CacheLike, type InstrumentCacheOptions } from './in-process';
export type { CacheOperation, CacheResult } from './record';
