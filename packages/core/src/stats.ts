import { instruments } from './instruments';

/** AI services the seed's /stats always lists, even before their first task. */
export const SEED_AI_SERVICES = ['midjourney', 'flux', 'dreamwork', 'jimeng', 'kling'] as const;

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
  const aiTasks: Record<string, number> = {};
  for (const service of SEED_AI_SERVICES) aiTasks[service] = 0;
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
