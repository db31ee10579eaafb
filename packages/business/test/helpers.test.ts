import { setRequestUser } from '@bizmon/core';
import { runWithRequestContext } from '@bizmon/core/internal';
import { aiTasks, credits, errors, security, users } from '@bizmon/business';
import { expectMatchesCatalog, sampleValue, type Family } from '../../../test/support/exposition';
import { useTelemetry } from './telemetry';

const { scrape, text: scrapeText } = useTelemetry();

/** Every sample of `name` whose labels include `match`, as `{labels: value}` rows. */
function rows(
  families: Map<string, Family>,
  name: string,
  match: Record<string, string>,
): Record<string, unknown>[] {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, ''));
  return (family?.samples ?? [])
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .map((s) => ({ ...s.labels, value: s.value }));
}

function sortRows(list: Record<string, unknown>[]): Record<string, unknown>[] {
  return [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Compares sample rows regardless of order (series order is insertion order across tests). */
function expectRows(actual: Record<string, unknown>[], expected: Record<string, unknown>[]): void {
  expect(sortRows(actual)).toEqual(sortRows(expected));
}

class QuotaExceeded extends Error {}

describe('aiTasks', () => {
  test('submitted counts ai_tasks_submitted_total and a pending task', async () => {
    aiTasks.submitted({ service: 'sub-svc' });
    aiTasks.submitted({ service: 'sub-svc', userRole: 'vip' });
    const f = await scrape();
    expectRows(rows(f, 'ai_tasks_submitted_total', { service: 'sub-svc' }), [
      { service: 'sub-svc', value: 2 },
    ]);
    expectRows(rows(f, 'ai_tasks_total', { service: 'sub-svc' }), [
      { service: 'sub-svc', status: 'pending', user_role: 'anonymous', value: 1 },
      { service: 'sub-svc', status: 'pending', user_role: 'vip', value: 1 },
    ]);
  });

  test('succeeded counts success and observes the duration by service and mode', async () => {
    aiTasks.succeeded({ service: 'ok-svc', durationSeconds: 7 });
    aiTasks.succeeded({ service: 'ok-svc', mode: 'fast', durationSeconds: 0.5, userRole: 'admin' });
    const f = await scrape();
    expectRows(rows(f, 'ai_tasks_total', { service: 'ok-svc' }), [
      { service: 'ok-svc', status: 'success', user_role: 'anonymous', value: 1 },
      { service: 'ok-svc', status: 'success', user_role: 'admin', value: 1 },
    ]);
    expectRows(rows(f, 'ai_task_duration_seconds_count', { service: 'ok-svc' }), [
      { service: 'ok-svc', mode: 'default', value: 1 },
      { service: 'ok-svc', mode: 'fast', value: 1 },
    ]);
    expect(
      sampleValue(f, 'ai_task_duration_seconds_sum', { service: 'ok-svc', mode: 'default' }),
    ).toBe(7);
    expect(
      sampleValue(f, 'ai_task_duration_seconds_bucket', {
        service: 'ok-svc',
        mode: 'default',
        le: '5',
      }),
    ).toBe(0);
    expect(
      sampleValue(f, 'ai_task_duration_seconds_bucket', {
        service: 'ok-svc',
        mode: 'default',
        le: '10',
      }),
    ).toBe(1);
  });

  test('failed counts failed, the service failure and an application error of ai_service_<service>', async () => {
    aiTasks.failed({ service: 'bad-svc', error: new QuotaExceeded('no'), durationSeconds: 2 });
    aiTasks.failed({ service: 'bad-svc', error: new TypeError('x') });
    const f = await scrape();
    expectRows(rows(f, 'ai_tasks_total', { service: 'bad-svc' }), [
      { service: 'bad-svc', status: 'failed', user_role: 'anonymous', value: 2 },
    ]);
    expectRows(rows(f, 'ai_service_failures_total', { service: 'bad-svc' }), [
      { service: 'bad-svc', error_type: 'QuotaExceeded', value: 1 },
      { service: 'bad-svc', error_type: 'TypeError', value: 1 },
    ]);
    expectRows(rows(f, 'application_errors_total', { component: 'ai_service_bad-svc' }), [
      { error_type: 'QuotaExceeded', component: 'ai_service_bad-svc', value: 1 },
      { error_type: 'TypeError', component: 'ai_service_bad-svc', value: 1 },
    ]);
    // Only the failure that knew its duration is observed.
    expectRows(rows(f, 'ai_task_duration_seconds_count', { service: 'bad-svc' }), [
      { service: 'bad-svc', mode: 'default', value: 1 },
    ]);
  });

  test('the role defaults to the current request user role', async () => {
    runWithRequestContext({}, () => {
      setRequestUser({ id: 'u1', role: 'enterprise' });
      aiTasks.submitted({ service: 'ctx-svc' });
      credits.consumed({ amount: 3 });
    });
    const f = await scrape();
    expectRows(rows(f, 'ai_tasks_total', { service: 'ctx-svc' }), [
      { service: 'ctx-svc', status: 'pending', user_role: 'enterprise', value: 1 },
    ]);
    expectRows(rows(f, 'credits_consumed_total', { user_role: 'enterprise' }), [
      { user_role: 'enterprise', value: 3 },
    ]);
  });
});

describe('credits', () => {
  test('consumed, refunded and purchased count their operation and amounts', async () => {
    credits.consumed({ amount: 30, userRole: 'cr', balanceAfter: 70 });
    credits.consumed({ amount: 12.5, userRole: 'cr' });
    credits.refunded({ amount: 5, userRole: 'cr' });
    credits.purchased({ amount: 100, userRole: 'cr' });
    const f = await scrape();
    expectRows(rows(f, 'credits_operations_total', { user_role: 'cr' }), [
      { operation: 'consume', user_role: 'cr', value: 2 },
      { operation: 'refund', user_role: 'cr', value: 1 },
      { operation: 'purchase', user_role: 'cr', value: 1 },
    ]);
    expectRows(rows(f, 'credits_consumed_total', { user_role: 'cr' }), [
      { user_role: 'cr', value: 42.5 },
    ]);
    expectRows(rows(f, 'credits_purchased_total', { user_role: 'cr' }), [
      { user_role: 'cr', value: 100 },
    ]);
    expect(sampleValue(f, 'user_credits_balance_count')).toBe(1);
    expect(sampleValue(f, 'user_credits_balance_sum')).toBe(70);
    expect(sampleValue(f, 'user_credits_balance_bucket', { le: '50' })).toBe(0);
    expect(sampleValue(f, 'user_credits_balance_bucket', { le: '100' })).toBe(1);
  });
});

describe('errors', () => {
  test('record, paymentFailure and fileUploadFailure', async () => {
    errors.record(new RangeError('r'), 'billing');
    errors.record(new QuotaExceeded('q'), 'billing');
    errors.record('a thrown string', 'billing');
    errors.record(undefined, 'billing');
    errors.paymentFailure({ provider: 'alipay', reason: 'timeout' });
    errors.paymentFailure({ provider: 'alipay', reason: 'timeout' });
    errors.fileUploadFailure({ reason: 'too_large' });
    const f = await scrape();
    expectRows(rows(f, 'application_errors_total', { component: 'billing' }), [
      { error_type: 'RangeError', component: 'billing', value: 1 },
      { error_type: 'QuotaExceeded', component: 'billing', value: 1 },
      { error_type: 'string', component: 'billing', value: 1 },
      { error_type: 'undefined', component: 'billing', value: 1 },
    ]);
    expectRows(rows(f, 'payment_failures_total', {}), [
      { provider: 'alipay', reason: 'timeout', value: 2 },
    ]);
    expectRows(rows(f, 'file_upload_failures_total', {}), [{ reason: 'too_large', value: 1 }]);
  });
});

describe('security', () => {
  test('each helper feeds its own counter and security_events_total; ip/username/userId are never labels', async () => {
    security.loginFailure({ reason: 'bad_password', ip: '10.0.0.1', username: 'alice' });
    security.loginFailure({ ip: '10.0.0.2' });
    security.loginFailure();
    security.apiAbuse({ rule: 'rate_limit', ip: '10.0.0.3', userId: 'u9' });
    security.suspiciousAccess({ pattern: 'path_probe', ip: '10.0.0.4' });
    security.suspiciousAccess({ pattern: 'sql_injection', severity: 'critical' });
    security.event({ eventType: 'token_replay', severity: 'info' });
    const text = await scrapeText();
    for (const secret of ['10.0.0.', 'alice', 'u9']) expect(text).not.toContain(secret);
    const f = expectMatchesCatalog(text);
    expectRows(rows(f, 'login_failures_total', {}), [
      { reason: 'bad_password', value: 1 },
      { reason: 'unknown', value: 2 },
    ]);
    expectRows(rows(f, 'api_abuse_detected_total', {}), [{ rule: 'rate_limit', value: 1 }]);
    expectRows(rows(f, 'suspicious_access_patterns_total', {}), [
      { pattern: 'path_probe', value: 1 },
      { pattern: 'sql_injection', value: 1 },
    ]);
    expectRows(rows(f, 'security_events_total', {}), [
      { event_type: 'login_failure', severity: 'warning', value: 3 },
      { event_type: 'api_abuse', severity: 'critical', value: 1 },
      { event_type: 'suspicious_access', severity: 'warning', value: 1 },
      { event_type: 'suspicious_access', severity: 'critical', value: 1 },
      { event_type: 'token_replay', severity: 'info', value: 1 },
    ]);
  });
});

describe('hostile input', () => {
  test('never throws, never breaks the exposition, and is dropped and counted', async () => {
    const throwing = new Proxy(
      {},
      {
        get() {
          throw new Error('getter exploded');
        },
      },
    );
    const hostile: unknown[] = [
      undefined,
      null,
      {},
      throwing,
      { service: 'x'.repeat(10_000) },
      { service: 42 },
    ];
    const calls: ((arg: never) => void)[] = [
      aiTasks.submitted as never,
      aiTasks.succeeded as never,
      aiTasks.failed as never,
      credits.consumed as never,
      credits.refunded as never,
      credits.purchased as never,
      errors.paymentFailure as never,
      errors.fileUploadFailure as never,
      security.loginFailure as never,
      security.apiAbuse as never,
      security.suspiciousAccess as never,
      security.event as never,
      users.seen as never,
      users.registered as never,
    ];
    for (const fn of calls) for (const arg of hostile) expect(() => fn(arg as never)).not.toThrow();
    expect(() => errors.record(throwing, undefined as never)).not.toThrow();
    for (const bad of [NaN, -1, Infinity, -Infinity, '5' as unknown as number]) {
      aiTasks.succeeded({ service: 'hostile-svc', durationSeconds: bad });
      credits.consumed({ amount: bad, userRole: 'hostile', balanceAfter: bad });
      credits.purchased({ amount: bad, userRole: 'hostile' });
    }
    const f = await scrape();
    // The events are counted; their bad numbers are not.
    expectRows(rows(f, 'ai_tasks_total', { service: 'hostile-svc' }), [
      { service: 'hostile-svc', status: 'success', user_role: 'anonymous', value: 5 },
    ]);
    expect(sampleValue(f, 'ai_task_duration_seconds_count', { service: 'hostile-svc' })).toBe(0);
    expect(sampleValue(f, 'credits_consumed_total', { user_role: 'hostile' })).toBe(0);
    expect(sampleValue(f, 'credits_purchased_total', { user_role: 'hostile' })).toBe(0);
    const dropped = (metric: string, reason: string): number =>
      sampleValue(f, 'bizmon_dropped_measurements_total', { metric, reason });
    expect(dropped('ai_task_duration_seconds', 'invalid_value')).toBeGreaterThanOrEqual(5);
    expect(dropped('credits_consumed_total', 'invalid_value')).toBeGreaterThanOrEqual(5);
    expect(dropped('user_credits_balance', 'invalid_value')).toBeGreaterThanOrEqual(5);
    expect(dropped('credits_purchased_total', 'invalid_value')).toBeGreaterThanOrEqual(5);
    // Missing and absurd services are refused label values, counted per metric.
    // ({}, a 10,000-character service, a number)
    expect(dropped('ai_tasks_submitted_total', 'invalid_label_value')).toBe(3);
    // Unreadable option objects (undefined, null, a throwing Proxy) are counted too.
    expect(dropped('ai_tasks_submitted_total', 'invalid_value')).toBe(3);
    expect(f.get('ai_tasks_total')!.samples.every((s) => s.labels.service!.length <= 256)).toBe(
      true,
    );
  });
});
