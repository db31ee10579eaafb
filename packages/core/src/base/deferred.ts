/**
 * A module (or anything costly) loaded on first use instead of when bizmon loads. Every process
 * started with the preload in NODE_OPTIONS (build scripts, CLIs, one-off jobs) pays for what
 * bizmon loads at start-up, and most never scrape, push OTLP or run in a cluster
 * (bench/startup.mjs).
 */
export function deferred<T>(load: () => T): () => T {
  let loaded: { value: T } | undefined;
  return () => (loaded ??= { value: load() }).value;
}
