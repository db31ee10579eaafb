import { truncateUtf8 } from '../template';
import type { AlertItem, Language, Notification } from '../types';
import type { BridgeLimits } from './config';
import type { AlertmanagerPayload } from './payload';

type AmAlert = AlertmanagerPayload['alerts'][number];

/** Values this short are never cut further; past that, labels and annotations are left out. */
const MIN_VALUE_BYTES = 256;
/** Kept to the end: they name the alert, its urgency and what it is about. */
const KEPT = new Set(['alertname', 'severity', 'summary', 'description']);
/** Label added when labels or annotations had to be left out. */
export const CUT_LABEL = 'bizmon_cut';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** Bytes a string takes inside JSON (quotes and escapes included). */
const jsonBytes = (s: string) => bytes(JSON.stringify(s));

/**
 * {@link truncateUtf8} without encoding all of a huge value: its first `maxBytes + 1` UTF-16
 * units already take more than `maxBytes` bytes (each takes at least one), so the cut and its
 * marker come out the same.
 */
function cutUtf8(value: string, maxBytes: number, language: Language): string {
  return truncateUtf8(value.slice(0, maxBytes + 1), maxBytes, language);
}

/**
 * Bounds one alert as the limits say: every annotation to `maxAnnotationBytes`, then the whole
 * alert to `maxAlertBytes` by cutting its longest values first (none below 256 bytes), then by
 * leaving out annotations and labels other than alertname, severity, summary and description
 * (counted in a `bizmon_cut` label). Cut values end with the "…truncated" marker. Linear in the
 * alert's size, whatever its shape. Returns whether anything was cut.
 */
export function boundAlert(
  alert: AmAlert,
  limits: Pick<BridgeLimits, 'maxAnnotationBytes' | 'maxAlertBytes'>,
  language: Language,
): { alert: AmAlert; cut: boolean } {
  let cut = false;
  const a: AmAlert = {
    ...alert,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
  };
  for (const [k, v] of Object.entries(a.annotations)) {
    if (bytes(v) > limits.maxAnnotationBytes) {
      a.annotations[k] = cutUtf8(v, limits.maxAnnotationBytes, language);
      cut = true;
    }
  }
  let size = bytes(JSON.stringify(a));
  if (size <= limits.maxAlertBytes) return { alert: a, cut };
  cut = true;
  const values = allValues(a).sort((x, y) => y.bytes - x.bytes);
  for (const v of values) {
    if (size <= limits.maxAlertBytes || v.bytes <= MIN_VALUE_BYTES) break;
    const keep = Math.max(MIN_VALUE_BYTES, v.bytes - (size - limits.maxAlertBytes));
    const next = cutUtf8(v.value, keep, language);
    size -= jsonBytes(v.value) - jsonBytes(next);
    v.set(next);
  }
  if (size > limits.maxAlertBytes) {
    // Room for the bizmon_cut label itself.
    const target = limits.maxAlertBytes - 64;
    let left = 0;
    for (const obj of [a.annotations, a.labels]) {
      for (const k of Object.keys(obj).reverse()) {
        if (size <= target) break;
        if (KEPT.has(k)) continue;
        size -= jsonBytes(k) + jsonBytes(obj[k]!) + 2; // "k":"v",
        delete obj[k];
        left++;
      }
    }
    a.labels[CUT_LABEL] = `${left} labels/annotations left out`;
  }
  return { alert: a, cut };
}

interface Value {
  value: string;
  bytes: number;
  set(v: string): void;
}

function allValues(a: AmAlert): Value[] {
  const out: Value[] = [];
  const add = (value: string, set: (v: string) => void) =>
    out.push({ value, bytes: bytes(value), set });
  for (const obj of [a.labels, a.annotations]) {
    for (const [k, v] of Object.entries(obj)) add(v, (nv) => (obj[k] = nv));
  }
  add(a.generatorURL, (v) => (a.generatorURL = v));
  add(a.fingerprint, (v) => (a.fingerprint = v));
  add(a.startsAt, (v) => (a.startsAt = v));
  add(a.endsAt, (v) => (a.endsAt = v));
  return out;
}

/**
 * Bounds a notification read back from the outbox, which an older bridge (or larger limits)
 * may have written whole: summary, description and label values are cut to `maxAnnotationBytes`.
 * Returns undefined when nothing needed cutting.
 */
export function boundStored(
  n: Notification,
  limits: Pick<BridgeLimits, 'maxAnnotationBytes'>,
  language: Language,
): Notification | undefined {
  const max = limits.maxAnnotationBytes;
  const cut = (v: string) => (bytes(v) > max ? cutUtf8(v, max, language) : v);
  let changed = false;
  const alerts = n.alerts.map((a): AlertItem => {
    const labels = Object.fromEntries(Object.entries(a.labels).map(([k, v]) => [k, cut(v)]));
    const b: AlertItem = {
      ...a,
      summary: cut(a.summary),
      description: a.description === undefined ? undefined : cut(a.description),
      labels,
    };
    if (
      b.summary !== a.summary ||
      b.description !== a.description ||
      Object.keys(labels).some((k) => labels[k] !== a.labels[k])
    )
      changed = true;
    return b;
  });
  return changed ? { ...n, alerts } : undefined;
}
