import type { BizmonPlugin } from '../instrumentation/plugin';
import { warn } from '../base/log';
import { onCollect } from '../export/producer';
import { state } from '../base/state';
import { EventLoopSampler } from './event-loop';
import { observeGc } from './gc';
import { NodeSampler } from './node';
import { ProcessSampler } from './process';

let stopRunning: (() => void) | undefined;

/**
 * Starts the runtime families (catalog area `runtime`): prom-client's process and Node.js
 * default metrics under its names, plus nodejs_eventloop_utilization. Everything is read in a
 * collect callback, at scrape (or OTLP push) time; between collections only the GC observer
 * and libuv's event-loop delay timer run. Once per process, even with two copies of core.
 * Never throws.
 */
export function startRuntimeMetrics(): void {
  if (state.runtimeMetrics) return;
  try {
    const processSampler = new ProcessSampler();
    const nodeSampler = new NodeSampler();
    const eventLoop = new EventLoopSampler();
    const stopGc = observeGc();
    const removeCollect = onCollect(() => {
      processSampler.sample();
      nodeSampler.sample();
      return eventLoop.sample();
    });
    state.runtimeMetrics = true;
    stopRunning = () => {
      removeCollect();
      stopGc();
      eventLoop.stop();
      state.runtimeMetrics = false;
    };
  } catch (err) {
    warn(`runtime metrics failed to start and are off: ${(err as Error).message}`);
  }
}

/** Stops what startRuntimeMetrics() started; its families leave the exposition. */
export function stopRuntimeMetrics(): void {
  stopRunning?.();
  stopRunning = undefined;
}

/** The runtime metrics as a plugin of start(): on unless BIZMON_RUNTIME_METRICS=false. */
export const runtimeMetricsPlugin: BizmonPlugin = {
  name: 'runtime',
  start(config) {
    if (config.runtimeMetrics) startRuntimeMetrics();
  },
  shutdown: stopRuntimeMetrics,
};
