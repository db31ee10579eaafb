import type { RateLimit } from './channels/channel';

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
  ) {}

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

  /** Spends `n` tokens (call after {@link waitMs} returned 0). */
  take(n: number): void {
    const t = this.now();
    for (let i = 0; i < Math.min(n, this.limit.messages); i++) this.spent.push(t);
  }
}

/** One limiter per robot, shared by every channel that points at it. */
export class RateLimiters {
  private readonly byKey = new Map<string, RateLimiter>();

  constructor(private readonly now: () => number = Date.now) {}

  get(key: string, limit: RateLimit | undefined): RateLimiter | undefined {
    if (!limit) return undefined;
    let l = this.byKey.get(key);
    if (!l) {
      l = new RateLimiter(limit, this.now);
      this.byKey.set(key, l);
    }
    return l;
  }
}
