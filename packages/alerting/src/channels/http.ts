import { DeliveryError } from './channel';

/** A response, with its body parsed as JSON when it is JSON. */
export interface HttpResult {
  status: number;
  body: unknown;
  text: string;
  retryAfterMs?: number;
}

/**
 * POSTs JSON. Network errors and timeouts become retryable {@link DeliveryError}s; the response
 * is returned whatever its status, for the channel to judge. Error messages never include the URL.
 */
export async function postJson(
  url: string,
  payload: unknown,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body,
      signal,
    });
    text = await res.text();
  } catch (err) {
    throw new DeliveryError(`request failed: ${describeNetworkError(err)}`, true);
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    status: res.status,
    body: parsed,
    text,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
  };
}

function describeNetworkError(err: unknown): string {
  if (err && typeof err === 'object' && 'name' in err) {
    // AbortSignal.timeout rejects with a DOMException, which is not an Error subclass here.
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
  }
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const code =
      cause && typeof cause === 'object' && 'code' in cause ? String(cause.code) : undefined;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** How a platform reports its result in the JSON body. */
export interface PlatformRules {
  platform: string;
  /** Body fields holding the result code, first present wins (0 = success). */
  codeFields: string[];
  messageFields: string[];
  /** Codes meaning "try again later" (rate limits, system busy). */
  retryableCodes: number[];
}

/**
 * Judges a response: success only for 2xx with a zero (or absent) result code. Retryable for
 * 5xx, 408, 429 and the platform's rate-limit codes; anything else (bad token, bad signature,
 * bad request) cannot succeed by retrying.
 */
export function checkResponse(res: HttpResult, rules?: PlatformRules): void {
  const platform = rules?.platform ?? 'webhook';
  let code: number | undefined;
  let msg = '';
  if (rules && res.body && typeof res.body === 'object') {
    const b = res.body as Record<string, unknown>;
    const field = rules.codeFields.find((f) => typeof b[f] === 'number');
    if (field) code = b[field] as number;
    const mField = rules.messageFields.find((f) => typeof b[f] === 'string');
    if (mField) msg = b[mField] as string;
  }
  if (code !== undefined && code !== 0) {
    const retryable =
      rules!.retryableCodes.includes(code) || res.status >= 500 || res.status === 429;
    throw new DeliveryError(
      `${platform} rejected the message: code ${code}${msg ? ` ${msg}` : ''} (HTTP ${res.status})` +
        (retryable ? '' : '; not retrying, this cannot succeed without a config change'),
      retryable,
      res.retryAfterMs,
    );
  }
  if (res.status >= 200 && res.status < 300) {
    if (rules && code === undefined) {
      // A robot endpoint answering 2xx without a result code is not the platform we expect.
      throw new DeliveryError(
        `${platform} answered HTTP ${res.status} without a result code`,
        false,
      );
    }
    return;
  }
  const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
  throw new DeliveryError(
    `${platform} answered HTTP ${res.status}${retryable ? '' : '; not retrying'}`,
    retryable,
    res.retryAfterMs,
  );
}
