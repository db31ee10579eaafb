import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { instruments } from '../model/instruments';
import type { GaugeSeries } from '../model/registry';

const LINUX = process.platform === 'linux';

/** A `Vm…:  1234 kB` line of /proc/self/status, in bytes. */
function statusBytes(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

function setOrClear(gauge: GaugeSeries, value: number | undefined): void {
  if (value === undefined || !Number.isFinite(value)) gauge.clear();
  else gauge.set(value);
}

/** The soft `Max open files` limit from /proc/self/limits; undefined when unknown or unlimited. */
function readMaxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/ {2,}/)[1]);
    return Number.isFinite(soft) ? soft : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `process_*` families, as prom-client computes them: CPU from process.cpuUsage(), memory
 * and file descriptors from /proc on Linux (absent elsewhere, like prom-client's). /proc reads
 * never block: the kernel answers them from memory.
 */
export class ProcessSampler {
  /** CPU time already counted, in microseconds: the counters cover the whole process's life. */
  private countedUser = 0;
  private countedSystem = 0;
  /** Read once, at the first collection (like prom-client: the limit rarely changes). */
  private maxFds: number | undefined | null = null;

  sample(): void {
    const cpu = process.cpuUsage();
    const user = Math.max(0, cpu.user - this.countedUser);
    const system = Math.max(0, cpu.system - this.countedSystem);
    this.countedUser += user;
    this.countedSystem += system;
    instruments.process_cpu_user_seconds_total.labels().add(user / 1e6);
    instruments.process_cpu_system_seconds_total.labels().add(system / 1e6);
    instruments.process_cpu_seconds_total.labels().add((user + system) / 1e6);

    // timeOrigin is when this process started, in ms since the epoch.
    instruments.process_start_time_seconds.labels().set(performance.timeOrigin / 1000);
    instruments.process_resident_memory_bytes.labels().set(process.memoryUsage.rss());
    if (!LINUX) return;

    let status = '';
    try {
      status = readFileSync('/proc/self/status', 'utf8');
    } catch {
      // Both gauges are cleared below.
    }
    setOrClear(instruments.process_virtual_memory_bytes.labels(), statusBytes(status, 'VmSize'));
    setOrClear(instruments.process_heap_bytes.labels(), statusBytes(status, 'VmData'));

    let openFds: number | undefined;
    try {
      // Minus the descriptor readdirSync itself had open on /proc/self/fd.
      openFds = readdirSync('/proc/self/fd').length - 1;
    } catch {
      openFds = undefined;
    }
    setOrClear(instruments.process_open_fds.labels(), openFds);
    if (this.maxFds === null) this.maxFds = readMaxFds();
    setOrClear(instruments.process_max_fds.labels(), this.maxFds);
  }
}
