import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { instruments } from '../model/instruments';

/** prom-client's `kind` label values, by the kind Node reports in a gc entry's detail. */
const KINDS = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

function record(entry: PerformanceEntry): void {
  // Node ≥ 16 puts the kind in `detail` (typed only on the gc entry's subclass).
  const detail = (entry as { detail?: { kind?: number } }).detail;
  const kind = KINDS.get(detail?.kind ?? -1);
  if (kind !== undefined)
    instruments.nodejs_gc_duration_seconds.labels(kind).observe(entry.duration / 1000);
}

/**
 * Observes every garbage collection into nodejs_gc_duration_seconds{kind} — the only runtime
 * work done between collections. Every entry of a batch counts (prom-client reads only the
 * first). Returns a function that stops observing.
 */
export function observeGc(): () => void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) record(entry);
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
