import { createHash } from 'node:crypto';
import { readFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { RateLimitStore } from '../rate-limit';
import type { Logger } from '../types';

/** The file in the dataDir, beside the outbox folders. */
export const RATE_LIMIT_FILE = 'rate-limits.json';

/**
 * The robots' recent send times, kept in `<dataDir>/rate-limits.json` so that a bridge killed
 * and restarted still honours the 20-a-minute window it had used up. The whole file (a few
 * timestamps per robot) is rewritten after each send: written to a temporary file, fsynced,
 * renamed over the old one and the folder fsynced, so a crash leaves the old or the new
 * version, never a torn one. Writes queued while one is in flight share the next write.
 * Robots are keyed by a hash of their URL: the file holds no token.
 */
export class RateLimitFile implements RateLimitStore {
  private readonly file: string;
  private readonly byRobot = new Map<string, number[]>();
  private last: Promise<void> = Promise.resolve();
  private next?: Promise<void>;
  private failing = false;

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {
    this.file = path.join(dataDir, RATE_LIMIT_FILE);
    let text: string | undefined;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.unreadable(err);
    }
    if (text === undefined) return;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!parsed || typeof parsed !== 'object') throw new Error('not an object');
      for (const [robot, times] of Object.entries(parsed)) {
        if (Array.isArray(times)) this.byRobot.set(robot, times.filter(Number.isFinite));
      }
    } catch (err) {
      this.unreadable(err);
    }
  }

  private unreadable(err: unknown): void {
    this.log.warn(
      `${RATE_LIMIT_FILE} is unreadable (${(err as Error).message}); robots' rate limits start afresh`,
    );
  }

  load(key: string): number[] {
    return [...(this.byRobot.get(robotId(key)) ?? [])];
  }

  save(key: string, spent: readonly number[]): Promise<void> {
    this.byRobot.set(robotId(key), [...spent]);
    if (this.next) return this.next;
    const next = this.last.then(async () => {
      this.next = undefined;
      await this.write();
    });
    this.next = next;
    this.last = next;
    return next;
  }

  /** Writes the file durably; a failure is logged once and the in-memory limit still holds. */
  private async write(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    try {
      const fh = await fs.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(Object.fromEntries(this.byRobot)), 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, this.file);
      const dir = await fs.open(this.dataDir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.failing = false;
    } catch (err) {
      if (!this.failing) {
        this.log.warn(
          `could not save ${RATE_LIMIT_FILE} (${(err as Error).message}); a restart may exceed robots' rate limits`,
        );
      }
      this.failing = true;
    }
  }
}

function robotId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}
