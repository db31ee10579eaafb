/**
 * Test support: the dashboard queries (deploy/grafana/dashboards) that stay empty while the demo
 * runs, and why. Tests that run the demo (test/e2e-alerts.test.ts, test/remote-write.test.ts)
 * require data from every other query, so a renamed metric or a label lost on the way breaks
 * the build; each key must name an existing panel (`<dashboard uid> / <panel title>`).
 */
export const EMPTY_FOR_THE_DEMO: Readonly<Record<string, string>> = {
  'bizmon-cache / Errors per second': 'the in-process cache never fails (no Redis in the demo)',
  'bizmon-cache / Redis memory usage': 'the demo uses an in-process cache unless REDIS_URL is set',
  'bizmon-database / Slow queries per minute by table and operation':
    "the demo's queries take milliseconds, far below BIZMON_DB_SLOW_QUERY_MS (1 s)",
  'bizmon-errors-security / Measurements bizmon dropped (5 min)':
    'a healthy app drops nothing; the series appears with the first dropped measurement',
  'bizmon-errors-security / API abuse detections (5 min)':
    'the simulated users stay within every abuse rule',
  'bizmon-errors-security / Suspicious access patterns (5 min)':
    'the simulated users and visitors trip no scanning or credential-stuffing detector',
  'bizmon-users-credits / Retention':
    'needs users registered 1, 7 or 30 days before; the demo starts with a fresh database',
};
