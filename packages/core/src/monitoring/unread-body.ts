import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * How long a connection stays open after an answer while an unread request body keeps coming:
 * time for the client to read the answer before the close (closing on unread data sends a TCP
 * reset, and a client may then lose the answer it already has).
 */
export const LINGER_MS = 500;

/**
 * The monitoring endpoints read no request body. node:http would drain one after the answer to
 * keep the connection alive, for as long as it lasts (an endless one, for ever); instead, once
 * the answer is sent, a request whose body is still incomplete gets its connection half-closed
 * and then closed after {@link LINGER_MS}.
 */
export function closeAfterAnswerIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0'))
    return;
  res.once('finish', () => {
    if (req.complete) return;
    const socket = req.socket;
    if (socket.destroyed) return;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}
