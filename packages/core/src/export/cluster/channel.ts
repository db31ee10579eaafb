import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';

/**
 * The local channel between the processes of a clustered service: a unix socket in a directory
 * only this user can enter (0700, checked before every use), named after the exporter's port,
 * carrying one JSON message per line.
 */

/** Longest message accepted (a snapshot of 50,000 series is about 5 MB). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * The socket's path for the exporter on `port`, or why there is none: the directory is created
 * 0700 if missing and refused unless it is a real directory owned by this user that no one else
 * may enter (another user could otherwise read the series or feed fake ones).
 */
export function socketPath(
  port: number,
  base: string = tmpdir(),
): { path: string } | { refused: string } {
  const uid = process.getuid?.();
  if (uid === undefined) return { refused: 'unix sockets are not used on this platform' };
  const dir = join(base, `bizmon-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      return { refused: `cannot create ${dir}: ${(err as Error).message}` };
  }
  try {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0)
      return { refused: `${dir} must be a directory of this user with mode 0700` };
  } catch (err) {
    return { refused: `cannot read ${dir}: ${(err as Error).message}` };
  }
  return { path: join(dir, `exporter-${port}.sock`) };
}

/**
 * Calls `onMessage` with each JSON message `socket` receives, one per line; destroys the socket
 * on a message that is too long or not JSON (the other side is broken, and nothing it sends
 * after can be trusted to be framed right).
 */
export function readMessages(socket: Socket, onMessage: (message: unknown) => void): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  socket.on('data', (chunk: Buffer) => {
    let start = 0;
    let end = chunk.indexOf(10);
    while (end !== -1) {
      pending.push(chunk.subarray(start, end));
      const line = Buffer.concat(pending).toString('utf8');
      pending = [];
      pendingBytes = 0;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        socket.destroy();
        return;
      }
      onMessage(message);
      if (socket.destroyed) return;
      start = end + 1;
      end = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_MESSAGE_BYTES) {
        socket.destroy();
        return;
      }
      pending.push(chunk.subarray(start));
    }
  });
}

/** Sends one message (JSON on one line: JSON.stringify never writes a raw newline). */
export function sendMessage(socket: Socket, message: unknown): void {
  if (socket.writable) socket.write(`${JSON.stringify(message)}\n`);
}
