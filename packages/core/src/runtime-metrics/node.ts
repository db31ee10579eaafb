import type * as V8 from 'node:v8';
import { instruments } from '../model/instruments';

/** Node's undocumented handle and request lists, which prom-client counts. */
interface ProcessInternals {
  _getActiveHandles?: () => unknown[];
  _getActiveRequests?: () => unknown[];
}

const [major = '', minor = '', patch = ''] = process.version.slice(1).split('.');

let v8: typeof V8 | undefined;

/**
 * The `nodejs_*` gauges, as prom-client computes them: V8 heap totals and per-space sizes,
 * active libuv handles and requests, and the version. node:v8 is loaded at the first
 * collection, not at start-up (about 1 ms).
 */
export class NodeSampler {
  sample(): void {
    const memory = process.memoryUsage();
    instruments.nodejs_heap_size_total_bytes.labels().set(memory.heapTotal);
    instruments.nodejs_heap_size_used_bytes.labels().set(memory.heapUsed);
    instruments.nodejs_external_memory_bytes.labels().set(memory.external);

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    v8 ??= require('node:v8') as typeof V8;
    for (const space of v8.getHeapSpaceStatistics()) {
      // prom-client's label: `old_space` → `old`, `new_large_object_space` → `new_large_object`.
      const name = space.space_name.replace(/_space$/, '');
      instruments.nodejs_heap_space_size_total_bytes.labels(name).set(space.space_size);
      instruments.nodejs_heap_space_size_used_bytes.labels(name).set(space.space_used_size);
      instruments.nodejs_heap_space_size_available_bytes
        .labels(name)
        .set(space.space_available_size);
    }

    const internals = process as unknown as ProcessInternals;
    const handles = internals._getActiveHandles?.();
    const requests = internals._getActiveRequests?.();
    if (handles) instruments.nodejs_active_handles_total.labels().set(handles.length);
    if (requests) instruments.nodejs_active_requests_total.labels().set(requests.length);

    instruments.nodejs_version_info.labels(process.version, major, minor, patch).set(1);
  }
}
