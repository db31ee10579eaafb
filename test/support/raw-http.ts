/**
 * Test support: HTTP requests written byte for byte over a TCP socket, so targets and framing
 * that fetch() would normalise or refuse (`//`, `*`, absolute-form, percent garbage) reach the
 * server as an attacker sends them.
 */
import { connect, type Socket } from 'node:net';

/** What came back: the status line's code and the response head, or why nothing did. */
export type RawAnswer =
  | { status: number; head: string }
  | { status: undefined; failure: 'closed' | 'timeout' | 'error'; received: string };

/**
 * Sends `request` to 127.0.0.1:`port` and resolves once the response head (status line and
 * headers) has arrived, or with the reason none did within `timeoutMs`.
 */
export function sendRaw(
  port: number,
  request: Buffer | string,
  timeoutMs = 5000,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    let received = '';
    let settled = false;
    const settle = (answer: RawAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(
      () => settle({ status: undefined, failure: 'timeout', received }),
      timeoutMs,
    );
    // write, not end: a half-closed socket lets node:http drop a request still being answered.
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = received.slice(0, end);
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(head);
      settle(
        m ? { status: Number(m[1]), head } : { status: undefined, failure: 'error', received },
      );
    });
    socket.on('error', () => settle({ status: undefined, failure: 'error', received }));
    socket.on('close', () => settle({ status: undefined, failure: 'closed', received }));
  });
}

/** A header's value from a response head (first occurrence, case-insensitive name). */
export function headerOf(head: string, name: string): string | undefined {
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
