interface Kind {
  last: number;
  pending: number;
  timer?: NodeJS.Timeout;
  write: (count: number) => void;
}

/**
 * At most one log line per kind and interval: the first occurrence is logged at once, later
 * ones are counted and logged together when the interval ends. Keeps a flood of bad requests
 * or shed notifications from flooding the log. Kinds are a fixed, small set chosen by the caller.
 */
export class ThrottledLog {
  private readonly kinds = new Map<string, Kind>();

  constructor(private readonly intervalMs = 60_000) {}

  /** Records `count` occurrences of `kind`; `write(total)` logs them (now, or at the interval's end). */
  note(kind: string, count: number, write: (count: number) => void): void {
    const now = Date.now();
    let k = this.kinds.get(kind);
    if (!k) {
      k = { last: -Infinity, pending: 0, write };
      this.kinds.set(kind, k);
    }
    k.write = write;
    if (!k.timer && now - k.last >= this.intervalMs) {
      k.last = now;
      write(count);
      return;
    }
    k.pending += count;
    if (k.timer) return;
    const entry = k;
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined;
        entry.last = Date.now();
        const n = entry.pending;
        entry.pending = 0;
        if (n) entry.write(n);
      },
      Math.max(0, entry.last + this.intervalMs - now),
    );
    entry.timer.unref();
  }

  /** Logs what is pending now and stops the timers. */
  flush(): void {
    for (const k of this.kinds.values()) {
      if (k.timer) clearTimeout(k.timer);
      k.timer = undefined;
      if (k.pending) k.write(k.pending);
      k.pending = 0;
    }
  }
}
