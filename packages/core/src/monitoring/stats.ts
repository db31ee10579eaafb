import { instruments } from '../model/instruments';

/** The `/stats` answer (CONTRACT.md §6). */
export interface StatsReport {
  active_connections: number;
  total_requests: number;
  ai_tasks_stats: Record<string, number>;
  cache_stats: { hits: number; misses: number; hit_rate: number };
}

/** Computes `/stats` from the live instruments. */
export function collectStats(): StatsReport {
  let activeConnections = 0;
  instruments.http_concurrent_connections.forEach((s) => (activeConnections = s.value));
  let totalRequests = 0;
  instruments.http_requests_total.forEach((s) => (totalRequests += s.value));
  // Only the services that had tasks: which services an app calls is the app's data, not the
  // library's (the contract says `{<service>: n}`; the demo's list is in packages/demo).
  const aiTasks: Record<string, number> = {};
  instruments.ai_tasks_submitted_total.forEach((s) => {
    const service = s.labelValues[0]!;
    aiTasks[service] = (aiTasks[service] ?? 0) + s.value;
  });
  let hits = 0;
  let misses = 0;
  instruments.cache_operations_total.forEach((s) => {
    if (s.labelValues[1] === 'hit') hits += s.value;
    else if (s.labelValues[1] === 'miss') misses += s.value;
  });
  return {
    active_connections: activeConnections,
    total_requests: totalRequests,
    ai_tasks_stats: aiTasks,
    cache_stats: { hits, misses, hit_rate: hits + misses > 0 ? hits / (hits + misses) : 0 },
  };
}
