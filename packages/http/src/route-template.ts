/**
 * The `endpoint` label for requests no framework routed (plain node:http): the seed's rule
 * (`/api/v1/<service>/…` → `<service>`, else the path without its trailing slash) after
 * id-like segments become `:id`, so that `/orders/42` and `/orders/43` are one series.
 */

/** The `endpoint` of requests that matched no route (404s, scanners' random paths). */
export const UNMATCHED = 'unmatched';

/** Placeholder for id-like path segments. */
export const ID_PLACEHOLDER = ':id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIGITS = /^\d+$/;
const LONG_HEX = /^[0-9a-f]{16,}$/i;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const BASE64ISH = /^[A-Za-z0-9_\-+=]{16,}$/;
const HAS_DIGIT = /\d/;
const HAS_UPPER = /[A-Z]/;
const HAS_LOWER = /[a-z]/;

/**
 * Whether a path segment looks like an identifier: a number, a UUID, 16+ hex digits (object
 * ids, hashes), a ULID, or a 16+ character base64/base64url token mixing digits, upper and
 * lower case (opaque ids, tokens). Words such as `user-settings` stay.
 */
export function isIdSegment(segment: string): boolean {
  if (segment.length === 0) return false;
  if (DIGITS.test(segment)) return true;
  if (segment.length < 16) return false;
  if (UUID.test(segment) || LONG_HEX.test(segment) || ULID.test(segment)) return true;
  return (
    BASE64ISH.test(segment) &&
    HAS_DIGIT.test(segment) &&
    HAS_UPPER.test(segment) &&
    HAS_LOWER.test(segment)
  );
}

/** Longest path we template; longer ones are cut here, bounding the work per request. */
const MAX_PATH_LENGTH = 512;

/**
 * The endpoint for a raw request path (query string ignored): `/api/v1/<service>/…` →
 * `<service>`; other paths keep their segments, with id-like ones replaced by `:id` and the
 * trailing slash removed. `''` and `/` are `/`. Pure; never throws.
 */
export function routeTemplate(path: string): string {
  if (typeof path !== 'string' || path.length === 0) return '/';
  let end = path.length;
  const q = path.indexOf('?');
  if (q !== -1) end = q;
  const h = path.indexOf('#');
  if (h !== -1 && h < end) end = h;
  if (end > MAX_PATH_LENGTH) end = MAX_PATH_LENGTH;
  let clean = end === path.length ? path : path.slice(0, end);
  if (clean.charCodeAt(0) !== 47 /* / */) clean = `/${clean}`;
  if (clean.startsWith('/api/v1/')) {
    const stop = clean.indexOf('/', 8);
    const service = stop === -1 ? clean.slice(8) : clean.slice(8, stop);
    if (service.length > 0) return isIdSegment(service) ? ID_PLACEHOLDER : service;
  }
  const segments = clean.split('/');
  let changed = false;
  for (let i = 1; i < segments.length; i++) {
    if (isIdSegment(segments[i]!)) {
      segments[i] = ID_PLACEHOLDER;
      changed = true;
    }
  }
  // Collapse empty segments (`//x`, trailing `/`) so one route is one series.
  let out = '';
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (s.length > 0) out += `/${s}`;
  }
  if (!changed && out === clean) return clean;
  return out.length === 0 ? '/' : out;
}

/** `req.baseUrl` + the route's path, as one template without a trailing slash. */
export function joinRoute(baseUrl: unknown, path: unknown): string | undefined {
  const base = typeof baseUrl === 'string' ? baseUrl : '';
  if (path instanceof RegExp) return base + String(path);
  if (Array.isArray(path)) return base + path.map(String).join('|');
  if (typeof path !== 'string') return undefined;
  let full = path === '/' && base.length > 0 ? base : base + path;
  if (full.length > 1 && full.endsWith('/')) full = full.slice(0, -1);
  return full.length === 0 ? '/' : full;
}
