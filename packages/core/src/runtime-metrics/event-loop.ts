import {
  monitorEventLoopDelay,
  performance,
  type EventLoopUtilization,
  type IntervalHistogram,
} from 'node:perf_hooks';
import { instruments } from '../model/instruments';

/** monitorEventLoopDelay's sampling interval (ms), prom-client's default precision. */
export const EVENT_LOOP_RESOLUTION_MS = 10;

const NS_PER_S = 1e9;

/** Each lag statistic's gauge and how to read it (in ns) from the delay histogram. */
const DELAY_STATS = [
  [instruments.nodejs_eventloop_lag_min_seconds, (h: IntervalHistogram) => h.min],
  [instruments.nodejs_eventloop_lag_max_seconds, (h: IntervalHistogram) => h.max],
  [instruments.nodejs_eventloop_lag_mean_seconds, (h: IntervalHistogram) => h.mean],
  [instruments.nodejs_eventloop_lag_stddev_seconds, (h: IntervalHistogram) => h.stddev],
  [instruments.nodejs_eventloop_lag_p50_seconds, (h: IntervalHistogram) => h.percentile(50)],
  [instruments.nodejs_eventloop_lag_p90_seconds, (h: IntervalHistogram) => h.percentile(90)],
  [instruments.nodejs_eventloop_lag_p99_seconds, (h: IntervalHistogram) => h.percentile(99)],
] as const;

/**
 * Event-loop lag and utilization over the time since the previous collection. The delay
 * histogram is libuv's (monitorEventLoopDelay: an unref'd native timer, no JavaScript between
 * collections), read and reset at each collection so the min/max/mean/stddev/percentile gauges
 * describe this scrape interval, not the one before. Caveat of Node's histogram: reset() also
 * forgets the last tick, so a stall that begins within one resolution (10 ms) after a
 * collection, before the timer's next tick, is not recorded.
 */
export class EventLoopSampler {
  private readonly delay: IntervalHistogram;
  private utilization: EventLoopUtilization;

  constructor() {
    this.delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.delay.enable();
    this.utilization = performance.eventLoopUtilization();
  }

  /**
   * Sets the gauges. First nodejs_eventloop_lag_seconds, with prom-client's meaning (how long a
   * setImmediate queued now waits) but measured in this collection rather than reported at the
   * next. Then it waits for the timers phase before reading the histogram: after a stall in a
   * timer callback, libuv serves a scrape that arrived meanwhile (poll phase) before it runs the
   * histogram's overdue tick (timers phase), and the reset would drop the stall's sample.
   */
  async sample(): Promise<void> {
    const queued = process.hrtime.bigint();
    await new Promise<void>((resolve) => setImmediate(resolve));
    instruments.nodejs_eventloop_lag_seconds
      .labels()
      .set(Number(process.hrtime.bigint() - queued) / NS_PER_S);
    // The histogram's timer is due no later than this one, and libuv runs timers in deadline order.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));

    const h = this.delay;
    if (h.count > 0) {
      for (const [family, read] of DELAY_STATS) family.labels().set(read(h) / NS_PER_S);
      h.reset();
    } else {
      // No tick completed since the last collection (collections under 10 ms apart): an empty
      // histogram reports int64 max and NaN, so report nothing and keep accumulating.
      for (const [family] of DELAY_STATS) family.labels().clear();
    }

    const now = performance.eventLoopUtilization();
    instruments.nodejs_eventloop_utilization
      .labels()
      .set(performance.eventLoopUtilization(now, this.utilization).utilization);
    this.utilization = now;
  }

  stop(): void {
    this.delay.disable();
  }
}
