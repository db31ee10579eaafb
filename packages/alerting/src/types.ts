/** Alert severities, as in the seed (critical 🚨, warning ⚠️, info ℹ️). */
export type Severity = 'critical' | 'warning' | 'info';

/** Message language: Chinese (default) or English. */
export type Language = 'zh' | 'en';

/** One alert, as channels and templates see it; both the in-app manager and the bridge build these. */
export interface AlertItem {
  name: string;
  /** A seed severity, or whatever an Alertmanager rule put in its `severity` label. */
  severity: string;
  status: 'firing' | 'resolved';
  summary: string;
  description?: string;
  /** Labels shown in the message (alertname and severity are shown separately). */
  labels: Record<string, string>;
  /** ISO 8601. */
  startsAt: string;
  /** ISO 8601; only meaningful for resolved alerts. */
  endsAt?: string;
  runbookUrl?: string;
  /** Where the alert came from (Prometheus' generatorURL, or a link the app passes). */
  sourceUrl?: string;
  /** Free-form details from the in-app API; sent as-is by the webhook channel. */
  details?: Record<string, unknown>;
}

/** What one channel delivers in one message: one or more alerts (more when merged). */
export interface Notification {
  /** The system that raised the alerts (`source` of the manager, or "alertmanager"). */
  source: string;
  alerts: AlertItem[];
  /** Alerts left out of the payload (Alertmanager's `truncatedAlerts`, plus those past the bridge's `maxAlertsPerPost`); mentioned in the message. */
  truncatedAlerts: number;
}

/** Log sink. Every line is redacted and has its control characters escaped before it gets here. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
