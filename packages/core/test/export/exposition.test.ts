import { execFileSync } from 'node:child_process';
import { metrics } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { instruments } from '@bizmon/core';
import { BizmonMetricProducer } from '@bizmon/core/internal';
import {
  expectMatchesCatalog,
  parseExposition,
  sampleValue,
} from '../../../../test/support/exposition';
import { describeIf, hasBinary } from '../../../../test/support/env';
import { useTelemetry } from '../../../../test/support/telemetry';

const bizmon = useTelemetry({ bizmonCardinalityLimit: 50_000 });

/** The lines the OpenTelemetry serializer writes for bizmon's series (the previous /metrics). */
async function viaOpenTelemetry(): Promise<string> {
  const collected = await new BizmonMetricProducer('test').collect();
  return new PrometheusSerializer('', false, undefined, true, true).serialize(
    collected.resourceMetrics,
  );
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .filter(
      (l) =>
        l !== '' &&
        !l.startsWith('# UNIT') &&
        !l.startsWith('target_info') &&
        !l.includes(' target_info'),
    );

test('writes the same families, samples and order as the OpenTelemetry serializer', async () => {
  instruments.http_requests_total.labels('GET', '/orders/:id', '200', 'admin').add(3);
  instruments.http_requests_total.labels('POST', '/orders', '500', 'anonymous').add(0.5);
  instruments.http_request_duration_seconds.labels('GET', '/orders/:id').observe(0.2);
  instruments.http_request_duration_seconds.labels('GET', '/orders/:id').observe(30);
  instruments.db_connection_pool_usage.labels('default').set(0.25);
  instruments.http_concurrent_connections.labels().set(2);
  const ours = await bizmon.text();
  expect(lines(ours)).toEqual(lines(await viaOpenTelemetry()));
  const families = expectMatchesCatalog(ours);
  // Buckets are cumulative: 0.2 falls in le=0.25 and above, 30 only in +Inf.
  const buckets = families
    .get('http_request_duration_seconds')!
    .samples.filter((s) => s.name.endsWith('_bucket'))
    .map((s) => [s.labels.le, s.value]);
  expect(buckets).toEqual([
    ['0.01', 0],
    ['0.05', 0],
    ['0.1', 0],
    ['0.25', 1],
    ['0.5', 1],
    ['1', 1],
    ['2.5', 1],
    ['5', 1],
    ['10', 1],
    ['+Inf', 2],
  ]);
  expect(sampleValue(families, 'http_request_duration_seconds_sum')).toBeCloseTo(30.2);
});

test('escapes backslash, double quote and newline in label values, once per series', async () => {
  const hostile = 'a\\b"c\nd';
  instruments.login_failures_total.labels(hostile).add(1);
  const first = await bizmon.text();
  expect(first).toContain('login_failures_total{reason="a\\\\b\\"c\\nd"} 1\n');
  instruments.login_failures_total.labels(hostile).add(1);
  const families = parseExposition(await bizmon.text());
  expect(sampleValue(families, 'login_failures_total', { reason: hostile })).toBe(2);
});

test('writes HELP and TYPE exactly once per family, also for families without series', async () => {
  const text = await bizmon.text();
  for (const kind of ['HELP', 'TYPE']) {
    const names = text
      .split('\n')
      .filter((l) => l.startsWith(`# ${kind} `))
      .map((l) => l.split(' ')[2]);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('cache_hit_rate');
  }
  // An absent-until-set gauge has its header but no sample.
  expect(parseExposition(text).get('cache_hit_rate')!.samples).toEqual([]);
});

test("includes the app's own OpenTelemetry instruments and target_info, without scope labels", async () => {
  metrics.getMeter('app').createCounter('orders.placed').add(4, { channel: 'web' });
  const text = await bizmon.text();
  expect(text).toContain('orders_placed_total{channel="web"} 4\n');
  expect(text).toMatch(/^target_info\{service_name="[^"]+"/m);
  expect(text).not.toContain('otel_scope');
  expect(text).not.toContain('# no registered metrics');
});

test('yields to the event loop while serialising a large registry', async () => {
  for (let i = 0; i < 40_000; i++)
    instruments.http_requests_total.labels('GET', `/bulk/${i}`, '200', 'user').add(1);
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const text = await bizmon.text();
  clearInterval(ticker);
  expect(turns).toBeGreaterThan(0);
  expect(text).toContain(
    'http_requests_total{method="GET",endpoint="/bulk/39999",status_code="200",user_role="user"} 1\n',
  );
  expect(parseExposition(text).get('http_requests_total')!.samples.length).toBeGreaterThanOrEqual(
    40_000,
  );
});

test('/metrics serves the same text in chunks, with the Prometheus content type', async () => {
  const { port } = bizmon.telemetry().exporterAddress!;
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const body = await response.text();
  expect(body).toBe(await bizmon.text());
  expect(body.length).toBeGreaterThan(1_000_000);
});

describeIf(hasBinary('promtool'), 'promtool')('the exposition', () => {
  test('passes promtool check metrics', async () => {
    const text = await bizmon.text();
    expect(
      execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' }).trim(),
    ).toBe('');
  });
});
