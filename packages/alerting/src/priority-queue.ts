/**
 * A FIFO queue per priority level (0 first): items of a higher priority leave before any of a
 * lower one, and in arrival order within their level. Levels are small integers (severities).
 */
export class PriorityQueue<T> {
  private readonly lanes: T[][] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(item: T, priority: number): void {
    const p = Math.max(0, Math.floor(priority));
    while (this.lanes.length <= p) this.lanes.push([]);
    this.lanes[p]!.push(item);
    this.size++;
  }

  private headLane(): T[] | undefined {
    return this.lanes.find((l) => l.length > 0);
  }

  /** The next item, or undefined when empty. */
  peek(): T | undefined {
    return this.headLane()?.[0];
  }

  /** Priority of the next item (Infinity when empty). */
  peekPriority(): number {
    const i = this.lanes.findIndex((l) => l.length > 0);
    return i < 0 ? Infinity : i;
  }

  shift(): T | undefined {
    const lane = this.headLane();
    if (!lane) return undefined;
    this.size--;
    return lane.shift();
  }

  /** Removes the first item matching `pred`; returns it. */
  remove(pred: (item: T) => boolean): T | undefined {
    for (const lane of this.lanes) {
      const i = lane.findIndex(pred);
      if (i >= 0) {
        this.size--;
        return lane.splice(i, 1)[0];
      }
    }
    return undefined;
  }

  /** Empties the queue, returning everything in order. */
  drain(): T[] {
    const all = this.lanes.flatMap((l) => l.splice(0));
    this.size = 0;
    return all;
  }
}
