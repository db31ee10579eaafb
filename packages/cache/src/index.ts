export { plugin } from './plugin';
export type { IoredisInstrumentationConfig } from './types';
export { instrumentCache, type CacheLike, type InstrumentCacheOptions } from './in-process';
export type { CacheOperation, CacheResult } from './record';
