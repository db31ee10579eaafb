import { instruments } from '../model/instruments';

/**
 * Security detections counted the same whoever detects them: @bizmon/http's abuse detector and
 * the app through @bizmon/business's `security` helpers. Each pairs its own counter with
 * `security_events_total{event_type, severity}`, so the two never disagree.
 */

/** Severity of api_abuse events: the seed alerts on any of them at once (APIAbuseDetected). */
export const API_ABUSE_SEVERITY = 'critical';

/**
 * One detected API abuse: `api_abuse_detected_total{rule}` and
 * `security_events_total{event_type="api_abuse", severity="critical"}`. Bad label values are
 * dropped and counted by the storage, like any other.
 */
export function recordApiAbuse(rule: string): void {
  instruments.api_abuse_detected_total.labels(rule).add(1);
  instruments.security_events_total.labels('api_abuse', API_ABUSE_SEVERITY).add(1);
}

/**
 * One suspicious access pattern: `suspicious_access_patterns_total{pattern}` and
 * `security_events_total{event_type="suspicious_access", severity}`.
 */
export function recordSuspiciousAccess(pattern: string, severity: string): void {
  instruments.suspicious_access_patterns_total.labels(pattern).add(1);
  instruments.security_events_total.labels('suspicious_access', severity).add(1);
}
