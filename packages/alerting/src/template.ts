import { httpUrl, markdown, oneLine, type Markup } from './markup';
import type { AlertItem, Language, Notification } from './types';

/** Options for rendering a notification. */
export interface RenderOptions {
  language: Language;
  /** IANA zone for times in the message; defaults to the process' zone. */
  timeZone?: string;
}

/** A rendered message: a one-line plain-text title and a body in the channel's markup. */
export interface RenderedMessage {
  title: string;
  body: string;
}

const EMOJI: Record<string, string> = { critical: '🚨', warning: '⚠️', info: 'ℹ️' };
const RESOLVED_EMOJI = '✅';
/** Labels already shown elsewhere in the message, or internal to Prometheus. */
const HIDDEN_LABELS = new Set(['alertname', 'severity']);

const TEXT = {
  zh: {
    firing: '告警',
    resolved: '已恢复',
    severity: '级别',
    summary: '摘要',
    description: '详情',
    labels: '标签',
    startsAt: '开始时间',
    endsAt: '恢复时间',
    source: '来源',
    runbook: '处理手册',
    sourceLink: '查看来源',
    severities: { critical: '严重', warning: '警告', info: '提示' } as Record<string, string>,
    many: (n: number, firing: number, resolved: number) =>
      `${n} 条告警（${firing} 条触发，${resolved} 条恢复）`,
    truncated: (n: number) => `另有 ${n} 条告警被 Alertmanager 省略。`,
  },
  en: {
    firing: 'Alert',
    resolved: 'Resolved',
    severity: 'Severity',
    summary: 'Summary',
    description: 'Description',
    labels: 'Labels',
    startsAt: 'Started',
    endsAt: 'Resolved at',
    source: 'Source',
    runbook: 'Runbook',
    sourceLink: 'Source',
    severities: { critical: 'critical', warning: 'warning', info: 'info' } as Record<
      string,
      string
    >,
    many: (n: number, firing: number, resolved: number) =>
      `${n} alerts (${firing} firing, ${resolved} resolved)`,
    truncated: (n: number) => `${n} more alerts were left out of this notification.`,
  },
};

/** Emoji for an alert: ✅ when resolved, else by severity (unknown severities get ⚠️). */
export function alertEmoji(alert: Pick<AlertItem, 'status' | 'severity'>): string {
  if (alert.status === 'resolved') return RESOLVED_EMOJI;
  return EMOJI[alert.severity] ?? EMOJI.warning!;
}

/** Formats an ISO time as `YYYY-MM-DD HH:mm:ss (Zone)`; returns the input when it is not a time. */
export function formatTime(iso: string, timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const zone = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  // sv-SE formats as ISO-like "2025-08-24 10:00:00".
  const s = new Intl.DateTimeFormat('sv-SE', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(d);
  return `${s} (${zone})`;
}

/** Plain text on one line: a title is shown as text everywhere (and is an email subject). */
function alertTitle(alert: AlertItem, lang: Language): string {
  const t = TEXT[lang];
  return `${alertEmoji(alert)} [${alert.status === 'resolved' ? t.resolved : t.firing}] ${oneLine(alert.name)}`;
}

function renderAlert(alert: AlertItem, source: string, opts: RenderOptions, m: Markup): string {
  const t = TEXT[opts.language];
  const status = alert.status === 'resolved' ? t.resolved : t.firing;
  const heading = m.heading(`${alertEmoji(alert)} [${status}] ${m.text(alert.name)}`);
  const fields: string[] = [];
  const sev = t.severities[alert.severity];
  fields.push(
    m.field(
      t.severity,
      `${m.text(alert.severity)}${sev && sev !== alert.severity ? ` (${sev})` : ''}`,
    ),
  );
  fields.push(m.field(t.summary, m.text(alert.summary)));
  if (alert.description) fields.push(m.field(t.description, m.text(alert.description)));
  const labels = Object.entries(alert.labels)
    .filter(([k]) => !HIDDEN_LABELS.has(k) && !k.startsWith('__'))
    .map(([k, v]) => `${k}=${v}`);
  if (labels.length) fields.push(m.field(t.labels, m.text(labels.join(', '))));
  // A time we format is ours; a string that is not a time is shown as the alert's text.
  const time = (iso: string) => {
    const shown = formatTime(iso, opts.timeZone);
    return shown === iso ? m.text(iso) : shown;
  };
  fields.push(m.field(t.startsAt, time(alert.startsAt)));
  if (alert.status === 'resolved' && alert.endsAt) {
    fields.push(m.field(t.endsAt, time(alert.endsAt)));
  }
  fields.push(m.field(t.source, m.text(source)));
  // Links only to http(s); any other URL is shown as text, so it can never be clicked.
  const links: string[] = [];
  for (const [label, raw] of [
    [t.runbook, alert.runbookUrl],
    [t.sourceLink, alert.sourceUrl],
  ] as const) {
    if (!raw) continue;
    const url = httpUrl(raw);
    if (url) links.push(m.link(label, url));
    else fields.push(m.field(label, m.text(raw)));
  }
  if (links.length) fields.push(m.links(links));
  return m.section(heading, fields);
}

/**
 * Renders a notification. One alert gives that alert's message; several (a group from
 * Alertmanager, or alerts merged under a rate limit) give a count title and one section each.
 * The body is in `markup` (markdown unless told), with every text from the alerts escaped for it.
 */
export function renderNotification(
  n: Notification,
  opts: RenderOptions,
  markup: Markup = markdown,
): RenderedMessage {
  const t = TEXT[opts.language];
  const sections = n.alerts.map((a) => renderAlert(a, n.source, opts, markup));
  if (n.truncatedAlerts > 0) sections.push(markup.note(t.truncated(n.truncatedAlerts)));
  const only = n.alerts.length === 1 ? n.alerts[0] : undefined;
  let title: string;
  if (only) {
    title = alertTitle(only, opts.language);
  } else {
    const firing = n.alerts.filter((a) => a.status === 'firing');
    const worst = firing.find((a) => a.severity === 'critical') ?? firing[0];
    const emoji = worst ? alertEmoji(worst) : RESOLVED_EMOJI;
    title = `${emoji} ${t.many(n.alerts.length, firing.length, n.alerts.length - firing.length)}`;
  }
  return { title, body: markup.sections(sections) };
}

const TRUNCATED = {
  zh: '\n\n…（内容过长，已截断）',
  en: '\n\n…truncated',
};

/**
 * Cuts `text` to at most `maxBytes` UTF-8 bytes including a "…truncated" marker, on a character
 * boundary. Returns the text unchanged when it fits.
 */
export function truncateUtf8(text: string, maxBytes: number, language: Language): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const marker = TRUNCATED[language];
  let end = Math.max(0, maxBytes - Buffer.byteLength(marker, 'utf8'));
  // Step back over continuation bytes (10xxxxxx) so we never split a character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8') + marker;
}
