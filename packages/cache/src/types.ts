import type { InstrumentationConfig } from '@opentelemetry/instrumentation';

/**
 * Configuration of {@link IoredisInstrumentation}, built once by @bizmon/node. Only
 * OpenTelemetry's common option (`enabled`, default true) so far: what the cache metrics measure
 * is fixed by the contract (the hit-rate window, the command kinds), and INFO memory is read at
 * most every `MEMORY_MIN_INTERVAL_MS` whatever the scrape interval. A new option goes here, with
 * its `@default`.
 */
export type IoredisInstrumentationConfig = InstrumentationConfig;
