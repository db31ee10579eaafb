/**
 * A time limit on bizmon's own waits (health checks, collect callbacks, Redis INFO and PING, the
 * activity store's QUIT), written once: a race against a timer that is cleared as soon as the
 * work settles and never keeps the process alive.
 */

/** The rejection of work that outlasted its limit; `error_type` `TimeoutError`. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(
    /** What timed out, as the message says it (`PING`, `health check "db"`). */
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} timed out after ${ms} ms`);
  }
}

/**
 * Settles as `work` does, or rejects with a {@link TimeoutError} after `ms`. `work` may be a
 * function: it is called (a throw becomes the rejection) and its result awaited. The work
 * itself is not cancelled; a later rejection of it is handled, never unhandled.
 */
export function withTimeout<T>(
  work: PromiseLike<T> | (() => T | PromiseLike<T>),
  ms: number,
  what: string,
): Promise<T> {
  const settled = typeof work === 'function' ? Promise.resolve().then(work) : Promise.resolve(work);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([settled, limit]).finally(() => clearTimeout(timer));
}
