import type { RateLimit } from './channels/channel';

/**
 * Where spent tokens are kept across restarts (the bridge keeps them in its dataDir), so a
 * crash and restart does not hand a robot a fresh window.
 */
export interface RateLimitStore {
  /** Send times remembered for the robot `key` (ms since epoch), any order. */
  load(key: string): number[];
  /** Records the robot's send times; resolves once they would survive a crash. Never rejects. */
  save(key: string, spent: readonly number[]): Promise<void>;
}

/**
 * At most `messages` sends in any window of `perMs`: a bucket of tokens where each token comes
 * back exactly one window after it was spent. (A classic refilling bucket of 20 would allow 40
 * messages in the first minute, which a robot limited to 20 a minute rejects.)
 */
export class RateLimiter {
  private readonly spent: number[] = [];

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
    /** Send times from before a restart, and where to record new ones. */
    private readonly saved?: { spent: number[]; save(spent: readonly number[]): Promise<void> },
  ) {
    if (saved) {
      const t = now();
      // A time ahead of the clock (the clock was set back) counts as now, so it still expires.
      const kept = saved.spent
        .filter((s) => Number.isFinite(s))
        .map((s) => Math.min(s, t))
        .filter((s) => s > t - limit.perMs)
        .sort((a, b) => a - b);
      this.spent.push(...kept.slice(-limit.messages));
    }
  }

  private prune(): void {
    const cutoff = this.now() - this.limit.perMs;
    while (this.spent.length && this.spent[0]! <= cutoff) this.spent.shift();
  }

  /** Tokens available now. */
  available(): number {
    this.prune();
    return this.limit.messages - this.spent.length;
  }

  /** Milliseconds until `n` tokens are available (0 when they are). */
  waitMs(n: number): number {
    const need = Math.min(n, this.limit.messages);
    this.prune();
    const excess = this.spent.length - (this.limit.messages - need);
    if (excess <= 0) return 0;
    return Math.max(1, this.spent[excess - 1]! + this.limit.perMs - this.now() + 1);
  }

  /**
   * Spends `n` tokens (call after {@link waitMs} returned 0). They count at once; the promise
   * resolves when they are recorded durably (at once without a store), so the message can go.
   */
  take(n: number): Promise<void> {
    const t = this.now();
    for (let i = 0; i < Math.min(n, this.limit.messages); i++) this.spent.push(t);
    if (!this.saved) return Promise.resolve();
    this.prune();
    return this.saved.save(this.spent);
  }
}

/** One limiter per robot, shared by every channel that points at it. */
export class RateLimiters {
  private readonly byKey = new Map<string, RateLimiter>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly store?: RateLimitStore,
  ) {}

  get(key: string, limit: RateLimit | undefined): RateLimiter | undefined {
    if (!limit) return undefined;
    let l = this.byKey.get(key);
    if (!l) {
      const store = this.store;
      l = new RateLimiter(
        limit,
        this.now,
        store && { spent: store.load(key), save: (spent) => store.save(key, spent) },
      );
      this.byKey.set(key, l);
    }
    return l;
  }
}
