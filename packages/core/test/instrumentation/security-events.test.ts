import { API_ABUSE_SEVERITY, recordApiAbuse, recordSuspiciousAccess } from '@bizmon/core/internal';
import { sampleValue } from '../../../../test/support/exposition';
import { useTelemetry } from '../../../../test/support/telemetry';

const { scrape } = useTelemetry();

test('an API abuse counts its rule and a critical api_abuse security event', async () => {
  expect(API_ABUSE_SEVERITY).toBe('critical');
  recordApiAbuse('request_rate');
  recordApiAbuse('scraping');
  recordApiAbuse('scraping');
  const f = await scrape();
  expect(sampleValue(f, 'api_abuse_detected_total', { rule: 'request_rate' })).toBe(1);
  expect(sampleValue(f, 'api_abuse_detected_total', { rule: 'scraping' })).toBe(2);
  expect(sampleValue(f, 'security_events_total', { event_type: 'api_abuse' })).toBe(3);
  expect(
    sampleValue(f, 'security_events_total', { event_type: 'api_abuse', severity: 'critical' }),
  ).toBe(3);
});

test('a suspicious access counts its pattern and a security event of its severity', async () => {
  recordSuspiciousAccess('scanning', 'warning');
  recordSuspiciousAccess('credential_stuffing', 'critical');
  const f = await scrape();
  expect(sampleValue(f, 'suspicious_access_patterns_total', { pattern: 'scanning' })).toBe(1);
  expect(
    sampleValue(f, 'suspicious_access_patterns_total', { pattern: 'credential_stuffing' }),
  ).toBe(1);
  expect(
    sampleValue(f, 'security_events_total', {
      event_type: 'suspicious_access',
      severity: 'warning',
    }),
  ).toBe(1);
  expect(
    sampleValue(f, 'security_events_total', {
      event_type: 'suspicious_access',
      severity: 'critical',
    }),
  ).toBe(1);
});

test('a bad rule is dropped and counted, not thrown', async () => {
  expect(() => recordApiAbuse('' as string)).not.toThrow();
  const f = await scrape();
  expect(
    sampleValue(f, 'bizmon_dropped_measurements_total', { metric: 'api_abuse_detected_total' }),
  ).toBe(1);
});
