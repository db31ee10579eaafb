import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger, Notification } from '../types';
import { notificationRank } from './severity';

/** One notification for one channel, as stored on disk. */
export interface OutboxEntry {
  id: string;
  channel: string;
  /** When the bridge accepted it (ms since epoch); delivery latency is measured from here. */
  createdAt: number;
  notification: Notification;
}

/** Entries serialized and accounted for, ready to be written. */
export interface PreparedWrite {
  entries: OutboxEntry[];
  data: string[];
  bytes: number;
}

interface Indexed {
  entry: OutboxEntry;
  bytes: number;
  /** Severity rank of the notification (0 critical). */
  rank: number;
}

/** Larger entry files are moved to failed/ unread (this bridge writes far less; see limits). */
const MAX_ENTRY_FILE_BYTES = 32 * 1024 * 1024;

const ENTRY = /^\d{15}-[0-9a-z-]+\.json$/;

/**
 * The durable outbox: one file per notification in `pending/`. A file is written to a temporary
 * name, fsynced, renamed into place and the directory fsynced before the sender is told "200".
 * A delivered entry is unlinked; when one message carried several entries, a marker listing
 * them is made durable first, so a crash in the middle cannot resend part of a merged message.
 * Permanently failed entries move to `failed/` for an operator to inspect.
 */
export class Outbox {
  private readonly pendingDir: string;
  private readonly doneDir: string;
  private readonly failedDir: string;
  private seq = 0;
  /** Every entry written (or being written) and not yet delivered, failed or shed. */
  private readonly index = new Map<string, Indexed>();
  private totalBytes = 0;

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.pendingDir = path.join(dataDir, 'pending');
    this.doneDir = path.join(dataDir, 'done');
    this.failedDir = path.join(dataDir, 'failed');
  }

  /** Entries written and not yet delivered or failed. */
  get depth(): number {
    return this.index.size;
  }

  /** Bytes of the entries in {@link depth}, as written on disk. */
  get bytes(): number {
    return this.totalBytes;
  }

  private add(entry: OutboxEntry, bytes: number): void {
    this.index.set(entry.id, { entry, bytes, rank: notificationRank(entry.notification) });
    this.totalBytes += bytes;
  }

  /** Stops accounting for entries (delivered, failed or shed); their files are handled by the caller. */
  forget(ids: string[]): void {
    for (const id of ids) {
      const e = this.index.get(id);
      if (!e) continue;
      this.index.delete(id);
      this.totalBytes -= e.bytes;
    }
  }

  /**
   * Entries that may be shed to make room for a notification of severity rank `rank`: those of a
   * strictly lower severity, lowest severity first and oldest first within one severity.
   */
  sheddable(rank: number): Array<{ entry: OutboxEntry; bytes: number; rank: number }> {
    return [...this.index.values()]
      .filter((e) => e.rank > rank)
      .sort((a, b) => b.rank - a.rank || a.entry.createdAt - b.entry.createdAt);
  }

  private newId(now: number): string {
    this.seq = (this.seq + 1) % 1e6;
    return `${String(now).padStart(15, '0')}-${String(this.seq).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
  }

  /**
   * Creates the folders, finishes any interrupted completion, and returns pending entries oldest
   * first. `bound` may return a smaller notification for an entry (written under larger
   * limits); the entry is then rewritten with it, so memory and disk stay within the limits.
   */
  async recover(
    bound: (n: Notification) => Notification | undefined = () => undefined,
  ): Promise<OutboxEntry[]> {
    for (const d of [this.pendingDir, this.doneDir, this.failedDir])
      await fs.mkdir(d, { recursive: true });
    for (const f of await fs.readdir(this.doneDir)) {
      const file = path.join(this.doneDir, f);
      if (f.startsWith('.tmp-')) {
        await fs.rm(file, { force: true });
        continue;
      }
      try {
        const ids = JSON.parse(await fs.readFile(file, 'utf8')) as string[];
        await this.unlinkEntries(ids);
      } catch (err) {
        this.log.error(`outbox: unreadable done-marker ${f}: ${(err as Error).message}`);
      }
      await fs.rm(file, { force: true });
    }
    const entries: OutboxEntry[] = [];
    for (const f of (await fs.readdir(this.pendingDir)).sort()) {
      const file = path.join(this.pendingDir, f);
      if (f.startsWith('.tmp-')) {
        // Never acknowledged: the sender got no 200 and will send it again.
        await fs.rm(file, { force: true });
        continue;
      }
      if (!ENTRY.test(f)) continue;
      try {
        // No version writes entries this large; reading one whole could exhaust memory.
        const { size } = await fs.stat(file);
        if (size > MAX_ENTRY_FILE_BYTES) throw new Error(`${size} bytes`);
        const entry = JSON.parse(await fs.readFile(file, 'utf8')) as OutboxEntry;
        const smaller = bound(entry.notification);
        if (smaller) {
          entry.notification = smaller;
          const tmp = path.join(this.pendingDir, `.tmp-${entry.id}`);
          await writeDurable(tmp, JSON.stringify(entry));
          await fs.rename(tmp, file);
        }
        entries.push(entry);
      } catch (err) {
        this.log.error(
          `outbox: moving unreadable entry ${f} to failed/: ${(err as Error).message}`,
        );
        await fs.rename(file, path.join(this.failedDir, f));
      }
    }
    await fsyncDir(this.pendingDir);
    this.index.clear();
    this.totalBytes = 0;
    for (const e of entries) this.add(e, Buffer.byteLength(JSON.stringify(e), 'utf8'));
    return entries;
  }

  /** Serializes notifications into entries and measures them, without writing anything. */
  prepare(items: Array<{ channel: string; notification: Notification }>): PreparedWrite {
    const now = Date.now();
    const entries = items.map((it) => ({ id: this.newId(now), createdAt: now, ...it }));
    const data = entries.map((e) => JSON.stringify(e));
    return { entries, data, bytes: data.reduce((s, d) => s + Buffer.byteLength(d, 'utf8'), 0) };
  }

  /**
   * Durably stores prepared entries; resolves only once they survive a crash. They count
   * towards {@link bytes} and {@link depth} from the call on, so concurrent posts cannot
   * overshoot the bounds together.
   */
  async write(prepared: PreparedWrite): Promise<OutboxEntry[]> {
    const { entries, data } = prepared;
    entries.forEach((e, i) => this.add(e, Buffer.byteLength(data[i]!, 'utf8')));
    try {
      await Promise.all(
        entries.map(async (e, i) => {
          const tmp = path.join(this.pendingDir, `.tmp-${e.id}`);
          await writeDurable(tmp, data[i]!);
          await fs.rename(tmp, path.join(this.pendingDir, `${e.id}.json`));
        }),
      );
      await fsyncDir(this.pendingDir);
    } catch (err) {
      this.forget(entries.map((e) => e.id));
      await this.unlinkEntries(entries.map((e) => e.id)).catch(() => undefined);
      throw err;
    }
    return entries;
  }

  /** Deletes shed entries (already {@link forget forgotten}) from disk. */
  async discard(ids: string[]): Promise<void> {
    await this.unlinkEntries(ids);
  }

  /** Marks entries delivered (removes them), atomically for a group. */
  async markDone(ids: string[]): Promise<void> {
    if (ids.length === 1) {
      await this.unlinkEntries(ids);
    } else if (ids.length > 1) {
      const marker = path.join(this.doneDir, `${ids[0]}.json`);
      const tmp = path.join(this.doneDir, `.tmp-${ids[0]}`);
      await writeDurable(tmp, JSON.stringify(ids));
      await fs.rename(tmp, marker);
      await fsyncDir(this.doneDir);
      await this.unlinkEntries(ids);
      await fs.rm(marker, { force: true });
    }
    this.forget(ids);
  }

  /** Moves entries that can never be delivered to `failed/`. */
  async markFailed(ids: string[]): Promise<void> {
    for (const id of ids) {
      await fs
        .rename(path.join(this.pendingDir, `${id}.json`), path.join(this.failedDir, `${id}.json`))
        .catch(() => undefined);
    }
    await fsyncDir(this.failedDir);
    await fsyncDir(this.pendingDir);
    this.forget(ids);
  }

  private async unlinkEntries(ids: string[]): Promise<void> {
    for (const id of ids) await fs.rm(path.join(this.pendingDir, `${id}.json`), { force: true });
    await fsyncDir(this.pendingDir);
  }
}

async function writeDurable(file: string, data: string): Promise<void> {
  const fh = await fs.open(file, 'w', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
