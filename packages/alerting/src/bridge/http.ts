import type http from 'node:http';

/** A request the bridge answers with `status` and `message`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The path of a request target, without query or fragment, for any target the HTTP parser
 * accepts: origin-form (`/alerts?x`), absolute-form (`http://host/alerts`), `*`, or anything
 * else (which then matches no route). Never throws, unlike `new URL(target, base)` on `//`.
 */
export function pathOf(target: string | undefined): string {
  const raw = target ?? '';
  const q = raw.search(/[?#]/);
  const p = q < 0 ? raw : raw.slice(0, q);
  const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(p);
  return abs ? p.slice(abs[0].length) || '/' : p;
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { ...headers, 'content-type': 'application/json' })
    .end(JSON.stringify(body));
}

/** Reads a request body of at most `maxBytes` (413 past it, whatever Content-Length says). */
export async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, `body over ${maxBytes} bytes`, { connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw tooLarge();
  }
  // With a Content-Length, one buffer of that size (no second copy when joining chunks).
  const into = Number.isInteger(declared) && declared >= 0 ? Buffer.allocUnsafe(declared) : null;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (size + chunk.length > maxBytes || (into && size + chunk.length > into.length)) {
        req.resume();
        throw tooLarge();
      }
      if (into) chunk.copy(into, size);
      else chunks.push(chunk);
      size += chunk.length;
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client went away or timed out mid-body: its fault, not a bridge failure.
    throw new HttpError(400, 'request body incomplete', { connection: 'close' });
  }
  return into ? into.subarray(0, size) : Buffer.concat(chunks);
}
