import {
  closeSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
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

/** The holder touches its lock this often… */
export const LOCK_HEARTBEAT_MS = 10_000;
/** …so a lock from another host untouched this long is stale (its holder is gone). */
export const LOCK_STALE_MS = 60_000;

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
            `dataDir. A holder on another host that is gone is taken over once the lock has ` +
            `not been renewed for ${LOCK_STALE_MS / 1000} s.`
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

/** Milliseconds since the lock file was last renewed (Infinity if it cannot be read). */
function age(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return Infinity;
  }
}

/**
 * An exclusive lock on a bridge's data folder: `<dir>/bridge.lock`, created with O_EXCL and
 * holding the owner's pid, host and process start time; the owner renews its mtime every 10 s.
 * A lock is stale, and taken over, when its owner is on this host and no longer running (killed
 * with -9, or its pid now belongs to a process that started at another time) — at once — or,
 * for an owner on another host (a new container or pod on a shared volume), when it has not
 * been renewed for 60 s. Otherwise {@link acquire} throws, naming the owner.
 *
 * Why not proper-lockfile: it judges staleness by mtime alone, so after a kill -9 a restart on
 * the same host is refused until the stale period passes, and it cannot name the holder. Here
 * the mtime only decides for other hosts, where liveness cannot be checked.
 */
export class DataDirLock {
  readonly file: string;
  private held = false;
  private heartbeat?: NodeJS.Timeout;

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
        this.heartbeat = setInterval(() => this.renew(), LOCK_HEARTBEAT_MS);
        this.heartbeat.unref();
        return;
      } catch (err) {
        if (!isEexist(err)) throw err;
      }
      const holder = readHolder(this.file);
      const stale =
        holder !== undefined &&
        (holder.host === me.host ? !alive(holder) : age(this.file) > LOCK_STALE_MS);
      if (!stale) throw new DataDirLockedError(this.file, holder);
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

  private renew(): void {
    try {
      const now = new Date();
      utimesSync(this.file, now, now);
    } catch {
      // Gone (an operator removed it): nothing to renew; the next start creates it again.
    }
  }

  /** Releases the lock if held (on shutdown). */
  release(): void {
    if (!this.held) return;
    this.held = false;
    clearInterval(this.heartbeat);
    try {
      unlinkSync(this.file);
    } catch {
      // Already gone: nothing to release.
    }
  }
}
