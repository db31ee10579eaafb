import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Who holds a data folder: written into its lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** The process's start time as the kernel counts it (Linux), so a reused pid is not mistaken for the holder. */
  startTicks?: string;
  since: string;
}

/** Another live bridge holds the folder (or one on another host may). */
export class DataDirLockedError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      holder
        ? `data folder ${path.dirname(lockFile)} is in use by another bizmon-alert-bridge ` +
            `(pid ${holder.pid} on host ${holder.host}, since ${holder.since}); two bridges on ` +
            `one outbox would send every alert twice. Stop that one, or give this one its own ` +
            `dataDir. If that process is gone (e.g. the host was rebuilt), remove ${lockFile}.`
        : `data folder ${path.dirname(lockFile)} is locked by ${lockFile}, which cannot be read; ` +
            `if no other bridge uses this folder, remove it.`,
    );
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(holder: LockHolder): boolean {
  if (holder.pid === process.pid) return false; // a lock left by an earlier process that had our pid
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // The pid exists; it is the holder only if it started when the holder did.
  const now = startTicks(holder.pid);
  return holder.startTicks === undefined || now === undefined || now === holder.startTicks;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return undefined;
    return { pid: h.pid, host: h.host, startTicks: h.startTicks, since: String(h.since) };
  } catch {
    return undefined;
  }
}

/** Creates `file` holding `content`, failing with EEXIST if it exists (O_EXCL). */
function createExclusive(file: string, content: string): void {
  const fd = openSync(file, 'wx', 0o644);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

function isEexist(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'EEXIST';
}

/**
 * An exclusive lock on a bridge's data folder: `<dir>/bridge.lock`, created with O_EXCL and
 * holding the owner's pid, host and process start time. A lock whose owner is on this host and
 * no longer running (killed with -9, the machine restarted) is stale and taken over; a live
 * owner, or one on another host (whose liveness cannot be checked), makes {@link acquire} throw.
 *
 * Why not proper-lockfile: it judges staleness by the lock's mtime, so after a kill -9 a
 * restart is refused until the stale period passes, a stalled event loop can let a second
 * process in while the first still runs, and it cannot name the holder.
 */
export class DataDirLock {
  readonly file: string;
  private held = false;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'bridge.lock');
  }

  /** Takes the lock, or throws {@link DataDirLockedError}. The folder must exist. */
  acquire(): void {
    const me: LockHolder = {
      pid: process.pid,
      host: os.hostname(),
      startTicks: startTicks(process.pid),
      since: new Date().toISOString(),
    };
    const content = `${JSON.stringify(me)}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        createExclusive(this.file, content);
        this.held = true;
        return;
      } catch (err) {
        if (!isEexist(err)) throw err;
      }
      const holder = readHolder(this.file);
      if (!holder || holder.host !== me.host || alive(holder)) {
        throw new DataDirLockedError(this.file, holder);
      }
      this.takeOverStale(holder);
    }
    throw new DataDirLockedError(this.file, readHolder(this.file));
  }

  /**
   * Removes a stale lock. Two processes may find the same stale lock at once; a second lock
   * file, itself O_EXCL, lets only one of them remove it (the other then finds the new owner).
   */
  private takeOverStale(stale: LockHolder): void {
    const guard = `${this.file}.takeover`;
    try {
      createExclusive(guard, `${process.pid}\n`);
    } catch (err) {
      if (!isEexist(err)) throw err;
      // Someone is taking over right now, or died doing so (a window of microseconds).
      const pid = Number(readFileSync(guard, 'utf8').trim());
      if (Number.isInteger(pid) && pid !== process.pid && alive({ pid, host: '', since: '' }))
        return;
      unlinkSync(guard);
      return;
    }
    try {
      const current = readHolder(this.file);
      if (current && current.pid === stale.pid && current.since === stale.since) {
        unlinkSync(this.file);
      }
    } finally {
      unlinkSync(guard);
    }
  }

  /** Releases the lock if held (on shutdown). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      unlinkSync(this.file);
    } catch {
      // Already gone: nothing to release.
    }
  }
}
