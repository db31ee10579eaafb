import type { AlertItem, Language, Notification } from './types';

/** Options for rendering a notification. */
export interface RenderOptions {
  language: Language;
  /** IANA zone for times in the message; defaults to the process' zone. */
  timeZone?: string;
}

/** A rendered message: a short title and a markdown body (also readable as plain text). */
export interface RenderedMessage {
  title: string;
  markdown: string;
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
    truncated: (n: number) => `${n} more alerts were left out by Alertmanager.`,
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

function alertTitle(alert: AlertItem, lang: Language): string {
  const t = TEXT[lang];
  return `${alertEmoji(alert)} [${alert.status === 'resolved' ? t.resolved : t.firing}] ${alert.name}`;
}

function renderAlert(alert: AlertItem, source: string, opts: RenderOptions): string {
  const t = TEXT[opts.language];
  const lines = [`### ${alertTitle(alert, opts.language)}`, ''];
  const sev = t.severities[alert.severity];
  lines.push(
    `- **${t.severity}**: ${alert.severity}${sev && sev !== alert.severity ? ` (${sev})` : ''}`,
  );
  lines.push(`- **${t.summary}**: ${alert.summary}`);
  if (alert.description) lines.push(`- **${t.description}**: ${alert.description}`);
  const labels = Object.entries(alert.labels)
    .filter(([k]) => !HIDDEN_LABELS.has(k) && !k.startsWith('__'))
    .map(([k, v]) => `${k}=${v}`);
  if (labels.length) lines.push(`- **${t.labels}**: ${labels.join(', ')}`);
  lines.push(`- **${t.startsAt}**: ${formatTime(alert.startsAt, opts.timeZone)}`);
  if (alert.status === 'resolved' && alert.endsAt) {
    lines.push(`- **${t.endsAt}**: ${formatTime(alert.endsAt, opts.timeZone)}`);
  }
  lines.push(`- **${t.source}**: ${source}`);
  const links: string[] = [];
  if (alert.runbookUrl) links.push(`[${t.runbook}](${alert.runbookUrl})`);
  if (alert.sourceUrl) links.push(`[${t.sourceLink}](${alert.sourceUrl})`);
  if (links.length) lines.push(`- ${links.join(' | ')}`);
  return lines.join('\n');
}

/**
 * Renders a notification. One alert gives that alert's message; several (a group from
 * Alertmanager, or alerts merged under a rate limit) give a count title and one section each.
 */
export function renderNotification(n: Notification, opts: RenderOptions): RenderedMessage {
  const t = TEXT[opts.language];
  const sections = n.alerts.map((a) => renderAlert(a, n.source, opts));
  if (n.truncatedAlerts > 0) sections.push(`> ${t.truncated(n.truncatedAlerts)}`);
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
  return { title, markdown: sections.join('\n\n---\n\n') };
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
