import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger, Notification } from '../types';

/** One notification for one channel, as stored on disk. */
export interface OutboxEntry {
  id: string;
  channel: string;
  /** When the bridge accepted it (ms since epoch); delivery latency is measured from here. */
  createdAt: number;
  notification: Notification;
}

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
  private count = 0;

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
    return this.count;
  }

  private newId(now: number): string {
    this.seq = (this.seq + 1) % 1e6;
    return `${String(now).padStart(15, '0')}-${String(this.seq).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
  }

  /** Creates the folders, finishes any interrupted completion, and returns pending entries oldest first. */
  async recover(): Promise<OutboxEntry[]> {
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
        entries.push(JSON.parse(await fs.readFile(file, 'utf8')) as OutboxEntry);
      } catch (err) {
        this.log.error(
          `outbox: moving unreadable entry ${f} to failed/: ${(err as Error).message}`,
        );
        await fs.rename(file, path.join(this.failedDir, f));
      }
    }
    await fsyncDir(this.pendingDir);
    this.count = entries.length;
    return entries;
  }

  /** Durably stores notifications; resolves only once they survive a crash. */
  async write(
    items: Array<{ channel: string; notification: Notification }>,
  ): Promise<OutboxEntry[]> {
    const now = Date.now();
    const entries = items.map((it) => ({ id: this.newId(now), createdAt: now, ...it }));
    await Promise.all(
      entries.map(async (e) => {
        const tmp = path.join(this.pendingDir, `.tmp-${e.id}`);
        await writeDurable(tmp, JSON.stringify(e));
        await fs.rename(tmp, path.join(this.pendingDir, `${e.id}.json`));
      }),
    );
    await fsyncDir(this.pendingDir);
    this.count += entries.length;
    return entries;
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
    this.count -= ids.length;
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
    this.count -= ids.length;
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
