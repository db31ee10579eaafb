import { z } from 'zod';
import type { AlertItem } from '../types';

const labels = z.record(z.string(), z.string());

/** Alertmanager's webhook payload, version 4. */
export const alertmanagerPayloadSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved']),
      labels,
      annotations: labels.default({}),
      startsAt: z.string(),
      endsAt: z.string().default(''),
      generatorURL: z.string().default(''),
      fingerprint: z.string().default(''),
    }),
  ),
});

export type AlertmanagerPayload = z.output<typeof alertmanagerPayloadSchema>;
type AmAlert = AlertmanagerPayload['alerts'][number];

/** Converts one Alertmanager alert into the form templates and channels take. */
export function fromAlertmanager(a: AmAlert): AlertItem {
  const ann = a.annotations;
  const name = a.labels.alertname ?? 'unknown';
  const summary = ann.summary ?? ann.message ?? ann.description ?? name;
  return {
    name,
    severity: a.labels.severity ?? 'warning',
    status: a.status,
    summary,
    description: ann.description && ann.description !== summary ? ann.description : undefined,
    labels: a.labels,
    startsAt: a.startsAt,
    // Alertmanager sends endsAt "0001-01-01T00:00:00Z" while an alert fires.
    endsAt: a.status === 'resolved' ? a.endsAt : undefined,
    runbookUrl: ann.runbook_url ?? ann.runbook,
    sourceUrl: a.generatorURL || undefined,
    details: a.fingerprint ? { fingerprint: a.fingerprint } : undefined,
  };
}
