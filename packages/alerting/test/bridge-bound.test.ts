/** The bounds the bridge puts on one alert, and the order it delivers in (issue #13, finding 3). */
import fc from 'fast-check';
import {
  Dispatcher,
  RateLimiter,
  Redactor,
  severityRank,
  type Channel,
  type Notification,
} from '@bizmon/alerting';
import { boundAlert, CUT_LABEL } from '../src/bridge/bound';

const limits = { maxAnnotationBytes: 4096, maxAlertBytes: 16 * 1024 };
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

function alert(labels: Record<string, string>, annotations: Record<string, string> = {}) {
  return {
    status: 'firing' as const,
    labels,
    annotations,
    startsAt: '2026-12-01T00:00:00Z',
    endsAt: '',
    generatorURL: '',
    fingerprint: 'f',
  };
}

test('a long annotation is cut on a character boundary, with the marker', () => {
  const { alert: a, cut } = boundAlert(
    alert({ alertname: 'A' }, { summary: '告警'.repeat(100_000), runbook_url: 'http://x' }),
    limits,
    'zh',
  );
  expect(cut).toBe(true);
  expect(Buffer.byteLength(a.annotations.summary!, 'utf8')).toBeLessThanOrEqual(4096);
  expect(a.annotations.summary).toMatch(/^(告警)+告?\n\n…（内容过长，已截断）$/);
  expect(a.annotations.runbook_url).toBe('http://x');
});

test('an alert with thousands of labels keeps alertname and severity and says how many it left out', () => {
  const labels: Record<string, string> = { alertname: 'Many', severity: 'critical' };
  for (let i = 0; i < 5000; i++) labels[`l${i}`] = `value-${i}`;
  const { alert: a } = boundAlert(alert(labels), limits, 'en');
  expect(bytes(a)).toBeLessThanOrEqual(limits.maxAlertBytes);
  expect(a.labels.alertname).toBe('Many');
  expect(a.labels.severity).toBe('critical');
  expect(a.labels[CUT_LABEL]).toMatch(/^\d+ labels\/annotations left out$/);
});

test('property: a bounded alert fits maxAlertBytes, and a small one is left alone', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 3000 });
  const dict = fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 20 }), text, {
    maxKeys: 40,
  });
  fc.assert(
    fc.property(dict, dict, (labels, annotations) => {
      const input = alert(labels, annotations);
      const { alert: a, cut } = boundAlert(input, limits, 'en');
      expect(bytes(a)).toBeLessThanOrEqual(limits.maxAlertBytes);
      if (!cut) expect(a).toEqual(input);
      const small = Object.values(annotations).every(
        (v) => Buffer.byteLength(v, 'utf8') <= limits.maxAnnotationBytes,
      );
      if (small && bytes(input) <= limits.maxAlertBytes) expect(cut).toBe(false);
    }),
    { seed: 13, numRuns: 200 },
  );
});

test('severity ranks: critical, warning, info; unknown or missing counts as warning', () => {
  expect(['critical', 'CRITICAL', 'warning', 'info', 'page', undefined].map(severityRank)).toEqual([
    0, 0, 1, 2, 1, 1,
  ]);
});

describe('Dispatcher with priority and a critical reserve', () => {
  function recorder(): Channel & { sent: string[] } {
    const sent: string[] = [];
    return {
      name: 'robot',
      type: 'webhook',
      rateKey: 'robot',
      requestsPerMessage: 1,
      maxBytes: Infinity,
      size: () => 1,
      sent,
      send: async (n: Notification) => {
        sent.push(n.alerts.map((a) => a.name).join('+'));
      },
    } as unknown as Channel & { sent: string[] };
  }
  const note = (name: string, severity: string): Notification => ({
    source: 's',
    truncatedAlerts: 0,
    alerts: [{ name, severity, status: 'firing', summary: name, labels: {}, startsAt: '' }],
  });

  test('critical goes first, and warnings leave the reserved tokens to it', async () => {
    let now = 0;
    const limiter = new RateLimiter({ messages: 5, perMs: 60_000 }, () => now);
    const channel = recorder();
    const d = new Dispatcher(channel, {
      delivery: { timeoutMs: 1000, retryBaseMs: 10, retryMaxMs: 10 },
      limiter,
      redactor: new Redactor(),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      priority: (n) => severityRank(n.alerts[0]!.severity),
      reserve: 2,
    });
    const done: Array<Promise<unknown>> = [];
    for (let i = 0; i < 4; i++) done.push(d.enqueue(note(`W${i}`, 'warning'), undefined));
    // Warnings may spend 3 of the 5 tokens; the third merges what is queued (the window's last one for them).
    await new Promise((r) => setTimeout(r, 50));
    expect(channel.sent).toEqual(['W0', 'W1', 'W2+W3']);
    const c = d.enqueue(note('C0', 'critical'), undefined);
    await c;
    expect(channel.sent).toEqual(['W0', 'W1', 'W2+W3', 'C0']);
    // Queued in order of severity, not arrival: the window's last token carries C1 first and
    // everything queued behind it in one message.
    const rest = [
      d.enqueue(note('I0', 'info'), undefined),
      d.enqueue(note('W4', 'warning'), undefined),
      d.enqueue(note('C1', 'critical'), undefined),
    ];
    await Promise.all([...done, ...rest]);
    expect(channel.sent).toEqual(['W0', 'W1', 'W2+W3', 'C0', 'C1+W4+I0']);
    now = 120_000; // the window has passed
    const later = [
      d.enqueue(note('I1', 'info'), undefined),
      d.enqueue(note('W5', 'warning'), undefined),
    ];
    await Promise.all(later);
    // Both queued before the first send: by severity.
    expect(channel.sent.slice(5)).toEqual(['W5', 'I1']);
    await d.close();
  });
});
