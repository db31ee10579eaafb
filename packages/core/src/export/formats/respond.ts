import type { ServerResponse } from 'node:http';
import type * as Zlib from 'node:zlib';
import { writeStream } from '../exposition';
import type { ExpositionChoice } from './negotiate';

/**
 * gzip level of compressed `/metrics` bodies. Level 1: exposition text is so repetitive that
 * it already shrinks about tenfold there, at a fraction of the default level's CPU time.
 */
const GZIP_LEVEL = 1;

/** Headers of a 200 `/metrics` response in the chosen format. */
export function expositionHeaders(choice: ExpositionChoice): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': choice.contentType,
    'cache-control': 'no-store',
    // The body depends on both, so no cache may hand one client's answer to another.
    vary: 'Accept, Accept-Encoding',
  };
  if (choice.gzip) headers['content-encoding'] = 'gzip';
  return headers;
}

/**
 * Writes an exposition body to `res` (headers already written) and ends it, through gzip when
 * the choice says so. Every body asked for in gzip is compressed, a small one too: the body is
 * streamed, so its size is not known when the headers go out, and Prometheus always asks.
 * Compression runs on libuv's thread pool, off the event loop.
 */
export async function writeExposition(
  res: ServerResponse,
  choice: ExpositionChoice,
  chunks: AsyncIterable<string | Uint8Array>,
): Promise<void> {
  if (!choice.gzip) return writeStream(res, chunks);
  // node:zlib at the first compressed scrape, not at start-up (negotiate.ts says why).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { constants, createGzip } = require('node:zlib') as typeof Zlib;
  const gzip = createGzip({ level: GZIP_LEVEL, flush: constants.Z_NO_FLUSH });
  // A client that goes away stops the compressor; a compressor failure drops the connection.
  res.once('close', () => gzip.destroy());
  gzip.once('error', () => res.destroy());
  gzip.pipe(res);
  await writeStream(gzip, chunks);
}

/** `rest` with an already-read first result in front of it. */
export async function* prepend<T>(
  first: IteratorResult<T, unknown>,
  rest: AsyncIterator<T>,
): AsyncGenerator<T, void, undefined> {
  if (first.done) return;
  yield first.value;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}
