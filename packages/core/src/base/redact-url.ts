/**
 * Credentials in URLs (issue #13): `redis://user:password@host`, `postgres://…`, an OTLP
 * endpoint with `?api_key=…`. bizmon's log lines and health details pass through here, so a URL
 * never reaches a log with its secrets, whichever package wrote the line.
 */

const MASK = '***';
/** A URL with an authority inside free text; it ends at white space or a quote. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
/** The part before the host: `scheme://` and the userinfo ending in `@`. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

/** `a=1&token&b=2` → `a=***&***&b=***`: names stay (they help debugging), values go. */
function maskQuery(query: string): string {
  return query
    .split('&')
    .map((part) => {
      if (part === '') return part;
      const eq = part.indexOf('=');
      return eq === -1 ? MASK : `${part.slice(0, eq)}=${MASK}`;
    })
    .join('&');
}

function redactOne(url: string): string {
  let out = url.replace(USERINFO, `$1${MASK}@`);
  const hash = out.indexOf('#');
  if (hash !== -1) out = `${out.slice(0, hash)}#${MASK}`;
  const q = out.indexOf('?');
  if (q !== -1) {
    const end = out.indexOf('#', q);
    const query = end === -1 ? out.slice(q + 1) : out.slice(q + 1, end);
    out = `${out.slice(0, q + 1)}${maskQuery(query)}${end === -1 ? '' : out.slice(end)}`;
  }
  return out;
}

/**
 * Masks what may be a credential in every URL of `text` (a lone URL is text too): the userinfo
 * (`redis://***@cache:6379`), each query value (`?api_key=***`) and the fragment. Scheme, host,
 * port, path and query parameter names stay, so the line still says where it went. Text
 * without `://` comes back unchanged.
 */
export function redactUrls(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, redactOne);
}
