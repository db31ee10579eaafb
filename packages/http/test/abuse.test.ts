import { instruments } from '@bizmon/core';
import { AbuseDetector, type AbuseDetection } from '@bizmon/http';
import { useTelemetry } from '../../../test/support/telemetry';

useTelemetry();

function counter(
  family: { forEach(fn: (s: { labelValues: readonly string[]; value: number }) => void): void },
  ...labels: string[]
): number {
  let total = 0;
  family.forEach((s) => {
    if (labels.every((l, i) => s.labelValues[i] === l)) total += s.value;
  });
  return total;
}

describe('AbuseDetector', () => {
  test('API abuse fires once when one client passes 600 requests a minute, not for 600', () => {
    const detector = new AbuseDetector();
    const seen: AbuseDetection[] = [];
    detector.onDetect((d) => seen.push(d));
    const before = counter(instruments.api_abuse_detected_total, 'request_rate');
    const events = counter(instruments.security_events_total, 'api_abuse');
    const t0 = 1_000_000;
    for (let i = 0; i < 600; i++) detector.observeRequest('ip:10.0.0.1', 200, t0 + i * 50);
    expect(seen).toHaveLength(0);
    for (let i = 0; i < 2000; i++) detector.observeRequest('ip:10.0.0.1', 200, t0 + 30_000 + i);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ kind: 'api_abuse', client: 'ip:10.0.0.1', threshold: 600 });
    expect(counter(instruments.api_abuse_detected_total, 'request_rate')).toBe(before + 1);
    expect(counter(instruments.security_events_total, 'api_abuse')).toBe(events + 1);
    // Still abusive a window later: one more detection, not one per request.
    for (let i = 0; i < 700; i++) detector.observeRequest('ip:10.0.0.1', 200, t0 + 95_000 + i);
    expect(seen).toHaveLength(2);
  });

  test('normal traffic from many clients never fires', () => {
    const detector = new AbuseDetector();
    const seen: AbuseDetection[] = [];
    detector.onDetect((d) => seen.push(d));
    // 100 clients, 5 requests a second each for 3 minutes (300 a minute), a few 404s.
    for (let s = 0; s < 180; s++) {
      for (let c = 0; c < 100; c++) {
        for (let r = 0; r < 5; r++)
          detector.observeRequest(
            `user:${c}`,
            r === 0 && s % 10 === 0 ? 404 : 200,
            s * 1000 + r * 200,
          );
      }
    }
    expect(seen).toHaveLength(0);
  });

  test('the sliding window counts the previous minute too', () => {
    const detector = new AbuseDetector({ apiAbuse: { maxRequests: 100, windowMs: 60_000 } });
    const seen: AbuseDetection[] = [];
    detector.onDetect((d) => seen.push(d));
    // 80 at the end of one window and 80 at the start of the next: 160 within a minute.
    for (let i = 0; i < 80; i++) detector.observeRequest('ip:a', 200, 50_000 + i * 10);
    for (let i = 0; i < 80; i++) detector.observeRequest('ip:a', 200, 60_000 + i * 10);
    expect(seen.map((d) => d.kind)).toEqual(['api_abuse']);
  });

  test('scanning: more than 30 401/403/404 a minute from one client', () => {
    const detector = new AbuseDetector();
    const seen: AbuseDetection[] = [];
    detector.onDetect((d) => seen.push(d));
    const before = counter(instruments.suspicious_access_patterns_total, 'scanning');
    for (let i = 0; i < 30; i++)
      detector.observeRequest('ip:scanner', [401, 403, 404][i % 3]!, i * 100);
    expect(seen).toHaveLength(0);
    for (let i = 0; i < 500; i++) detector.observeRequest('ip:scanner', 404, 3_000 + i);
    expect(seen.map((d) => d.kind)).toEqual(['scanning']);
    expect(counter(instruments.suspicious_access_patterns_total, 'scanning')).toBe(before + 1);
    // 500s and 200s are not scanning.
    for (let i = 0; i < 100; i++) detector.observeRequest('ip:other', i % 2 ? 500 : 200, i);
    expect(seen).toHaveLength(1);
  });

  test('credential stuffing: failures for more than 10 usernames from one IP, not for one user retrying', () => {
    const detector = new AbuseDetector();
    const seen: AbuseDetection[] = [];
    detector.onDetect((d) => seen.push(d));
    const before = counter(instruments.suspicious_access_patterns_total, 'credential_stuffing');
    for (let i = 0; i < 200; i++) detector.recordLoginFailure('203.0.113.9', 'alice', i * 1000);
    for (let i = 0; i < 10; i++) detector.recordLoginFailure('203.0.113.7', `user${i}`, i * 1000);
    expect(seen).toHaveLength(0);
    for (let i = 10; i < 100; i++) detector.recordLoginFailure('203.0.113.7', `user${i}`, i * 1000);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      kind: 'credential_stuffing',
      client: 'ip:203.0.113.7',
      observed: 11,
    });
    expect(counter(instruments.suspicious_access_patterns_total, 'credential_stuffing')).toBe(
      before + 1,
    );
    expect(
      counter(instruments.security_events_total, 'suspicious_access', 'critical'),
    ).toBeGreaterThanOrEqual(1);
  });

  test('1,000,000 distinct clients keep the tracked set at its cap', () => {
    const detector = new AbuseDetector({ maxClients: 10_000 });
    for (let i = 0; i < 1_000_000; i++) detector.observeRequest(`ip:${i}`, 404, i);
    for (let i = 0; i < 100_000; i++) detector.recordLoginFailure(`ip${i}`, `u${i}`, i);
    expect(detector.size.clients).toBe(10_000);
    expect(detector.size.loginSources).toBe(10_000);
  });

  test('a throwing listener is contained; disabled detection records nothing', () => {
    const detector = new AbuseDetector({ apiAbuse: { maxRequests: 1 } });
    detector.onDetect(() => {
      throw new Error('listener bug');
    });
    expect(() => {
      for (let i = 0; i < 5; i++) detector.observeRequest('ip:x', 200, i);
    }).not.toThrow();
    detector.configure({ enabled: false });
    const before = counter(instruments.api_abuse_detected_total, 'request_rate');
    for (let i = 0; i < 5; i++) detector.observeRequest('ip:y', 200, 100_000 + i);
    expect(counter(instruments.api_abuse_detected_total, 'request_rate')).toBe(before);
  });
});
