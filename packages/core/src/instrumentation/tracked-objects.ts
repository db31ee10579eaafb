import { registerHealthCheck, type HealthCheck } from '../monitoring/health';
import { onCollect } from '../export/producer';

/** What a {@link TrackedObjects} reads its objects with. */
export interface TrackedObjectsOptions<T extends object, D> {
  /** Whether a tracked object still counts (a pool not ended, a client not closed). */
  isLive(object: T): boolean;
  /** Called with the data of an object that was garbage-collected or is no longer live. */
  onDrop?(data: D): void;
  /** Runs before each collection while objects are tracked (pool gauges). */
  collect?: () => void | Promise<void>;
  /** A health check registered while objects are tracked (`database`, `redis`). */
  health?: { name: string; check: HealthCheck };
}

/**
 * The app's library objects that bizmon reads at scrape time (pg pools, ioredis clients), with
 * the collect callback and the health check that read them. Objects are held weakly, so being
 * tracked never keeps one alive, and each is tracked once. The callback and the check are
 * registered when the first object is added (or on {@link start} while any lives) and removed
 * by {@link stop}, so a stopped bizmon leaves nothing behind.
 */
export class TrackedObjects<T extends object, D = undefined> {
  private readonly entries: { ref: WeakRef<T>; data: D }[] = [];
  private readonly known = new WeakSet<T>();
  private unregisterCollect: (() => void) | undefined;
  private unregisterHealth: (() => void) | undefined;

  constructor(private readonly options: TrackedObjectsOptions<T, D>) {}

  /** Tracks `object` with `data` and starts; false (and nothing done) if it is tracked already. */
  add(object: T, data: D): boolean {
    if (this.known.has(object)) return false;
    this.known.add(object);
    this.entries.push({ ref: new WeakRef(object), data });
    this.register();
    return true;
  }

  /**
   * The live objects with their data, oldest first. Objects collected or no longer live are
   * dropped here (with `onDrop`), so the list stays as long as the app's live objects.
   */
  live(): { object: T; data: D }[] {
    const live: { object: T; data: D }[] = [];
    let kept = 0;
    for (const entry of this.entries) {
      const object = entry.ref.deref();
      if (object !== undefined && this.options.isLive(object)) {
        live.push({ object, data: entry.data });
        this.entries[kept++] = entry;
      } else this.options.onDrop?.(entry.data);
    }
    this.entries.length = kept;
    return live;
  }

  /** Registers the collect callback and health check if any tracked object lives (idempotent). */
  start(): void {
    if (this.live().length > 0) this.register();
  }

  /** Removes the collect callback and health check; tracked objects stay for a later start. */
  stop(): void {
    this.unregisterCollect?.();
    this.unregisterHealth?.();
    this.unregisterCollect = undefined;
    this.unregisterHealth = undefined;
  }

  private register(): void {
    const { collect, health } = this.options;
    if (collect !== undefined) this.unregisterCollect ??= onCollect(collect);
    if (health !== undefined)
      this.unregisterHealth ??= registerHealthCheck(health.name, health.check);
  }
}
