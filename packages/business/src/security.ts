import { instruments } from '@bizmon/core';
import { defineSignal, recordApiAbuse, recordSuspiciousAccess } from '@bizmon/core/internal';
import { inputFailed } from './input';

/** A failed login. `ip` and `username` are accepted for detection, never used as labels. */
export interface LoginFailure {
  /** Short, bounded reason (`bad_password`, `unknown_user`, `locked`); default `unknown`. */
  reason?: string;
  ip?: string;
  username?: string;
}

/** Abuse of the API detected by a rule of the app (rate limit, scraping, …). */
export interface ApiAbuse {
  /** Name of the rule that fired. */
  rule: string;
  ip?: string;
  userId?: string;
}

/** A suspicious access pattern (path probing, SQL injection attempt, …). */
export interface SuspiciousAccess {
  /** Name of the pattern. */
  pattern: string;
  ip?: string;
  /** Severity label of `security_events_total`; default `warning`. */
  severity?: string;
}

/** Any other security event. */
export interface SecurityEvent {
  /** `event_type` label (`password_reset_abuse`, `token_replay`, …). */
  eventType: string;
  /** `severity` label (`info`, `warning`, `critical`). */
  severity: string;
}

const DEFAULT_SEVERITY = 'warning';

/** business's signal of a login failure with a username; @bizmon/node wires it to http. */
const loginFailures = defineSignal<LoginFailure>('bizmon:business.login-failure');

/**
 * Calls `listener` with every login failure the app reports with a username (for
 * credential-stuffing detection; the preload passes them to @bizmon/http). Returns the
 * unsubscribe function.
 */
export function onLoginFailure(listener: (failure: LoginFailure) => void): () => void {
  return loginFailures.subscribe(listener);
}

/**
 * Security metrics: each helper counts its own counter and `security_events_total{event_type,
 * severity}`. ip, username and userId never become labels (they would be unbounded and
 * personal data). Safe no-ops before bizmon starts; never throw.
 */
export const security = {
  /** `login_failures_total{reason}` and `security_events_total{event_type="login_failure", severity="warning"}`. */
  loginFailure(failure?: LoginFailure): void {
    try {
      const reason = failure?.reason;
      instruments.login_failures_total
        .labels(reason === undefined || reason === null ? 'unknown' : reason)
        .add(1);
      instruments.security_events_total.labels('login_failure', DEFAULT_SEVERITY).add(1);
      // Credential-stuffing detection (@bizmon/http) needs who and from where.
      if (failure?.username !== undefined)
        loginFailures.emit({ ip: failure.ip, username: failure.username });
    } catch (err) {
      inputFailed('login_failures_total', 'security.loginFailure', err);
    }
  },

  /** `api_abuse_detected_total{rule}` and `security_events_total{event_type="api_abuse", severity="critical"}`. */
  apiAbuse(abuse: ApiAbuse): void {
    try {
      recordApiAbuse(abuse.rule);
    } catch (err) {
      inputFailed('api_abuse_detected_total', 'security.apiAbuse', err);
    }
  },

  /**
   * `suspicious_access_patterns_total{pattern}` and
   * `security_events_total{event_type="suspicious_access", severity}` (default `warning`).
   */
  suspiciousAccess(access: SuspiciousAccess): void {
    try {
      const severity = access.severity;
      recordSuspiciousAccess(
        access.pattern,
        severity === undefined || severity === null ? DEFAULT_SEVERITY : severity,
      );
    } catch (err) {
      inputFailed('suspicious_access_patterns_total', 'security.suspiciousAccess', err);
    }
  },

  /** `security_events_total{event_type, severity}`. */
  event(event: SecurityEvent): void {
    try {
      instruments.security_events_total.labels(event.eventType, event.severity).add(1);
    } catch (err) {
      inputFailed('security_events_total', 'security.event', err);
    }
  },
};
