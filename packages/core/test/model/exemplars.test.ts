import { context, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { instruments, resolveConfig } from '@bizmon/core';
import { exemplarSpan, observeWithExemplar } from '@bizmon/core/internal';
import { all, delimited, fields, get, str, type Field } from '../../../../test/support/protobuf';
import { useTelemetry } from '../../../../test/support/telemetry';
import { state } from '../../src/base/state';
import { HistogramFamily } from '../../src/model/registry';

const bizmon = useTelemetry({ otelServiceName: 'exemplars-test' });

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0';
const PROTOBUF =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(contextManager.enable()));
afterAll(() => context.disable());

let idCounter = 0;
/** A fresh span context with random-looking, distinct, valid ids. */
function spanContext(flags: number = TraceFlags.SAMPLED): SpanContext {
  const n = (++idCounter).toString(16);
  return {
    traceId: `4bf92f3577b34da6a3ce929d0e0e${n.padStart(4, '0')}`,
    spanId: `00f067aa0ba9${n.padStart(4, '0')}`,
    traceFlags: flags,
  };
}

/** Runs `fn` with `sc` as the active span (a non-recording span carrying it, as the API does). */
function inSpan<T>(sc: SpanContext, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), trace.wrapSpanContext(sc)), fn);
}

async function scrape(accept?: string): Promise<Response> {
  const port = bizmon.telemetry().exporterAddress!.port;
  return fetch(`http://127.0.0.1:${port}/metrics`, { headers: accept ? { accept } : {} });
}

describe('no tracer provider registered', () => {
  test('even a sampled span in the context is not looked at', () => {
    expect(inSpan(spanContext(), exemplarSpan)).toBeUndefined();
  });
});

describe('which span', () => {
  // From here on the app traces: a tracer provider is registered (the spans below are the API's
  // non-recording wrappers of given ids, so each test picks its flags and ids).
  beforeAll(() => trace.setGlobalTracerProvider(new TracerProvider()));
  afterAll(() => trace.disable());

  test('no active span, or one not sampled or with invalid ids: no exemplar', () => {
    expect(exemplarSpan()).toBeUndefined();
    expect(inSpan(spanContext(TraceFlags.NONE), exemplarSpan)).toBeUndefined();
    const zeros = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 1 };
    expect(inSpan(zeros, exemplarSpan)).toBeUndefined();
    const short = { traceId: 'abc', spanId: '00f067aa0ba902b7', traceFlags: 1 };
    expect(inSpan(short, exemplarSpan)).toBeUndefined();
    const notHex = { traceId: 'g'.repeat(32), spanId: '00f067aa0ba902b7', traceFlags: 1 };
    expect(inSpan(notHex, exemplarSpan)).toBeUndefined();
  });

  test('a sampled span is found, also through awaits', async () => {
    const sc = spanContext();
    const found = await inSpan(sc, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return exemplarSpan();
    });
    expect(found).toEqual(sc);
  });

  test('BIZMON_EXEMPLARS=false turns them off', () => {
    expect(resolveConfig({}, {}).exemplars).toBe(true);
    expect(resolveConfig({}, { BIZMON_EXEMPLARS: 'false' }).exemplars).toBe(false);
    const sc = spanContext();
    state.exemplars = false; // what startTelemetry sets from it
    try {
      expect(inSpan(sc, exemplarSpan)).toBeUndefined();
    } finally {
      state.exemplars = true;
    }
    expect(inSpan(sc, exemplarSpan)).toEqual(sc);
  });
});

describe('storage', () => {
  test('the last exemplar per bucket; no storage until the first', () => {
    const family = new HistogramFamily({
      name: 'exemplar_storage_seconds',
      type: 'histogram',
      help: 'test',
      labelNames: ['k'] as const,
      buckets: [0.1, 1],
    });
    const series = family.labels('a');
    series.observeWithExemplar(0.05, undefined);
    series.observe(0.5);
    expect(series.exemplars).toBeUndefined();
    const [a, b, c, d] = [spanContext(), spanContext(), spanContext(), spanContext()];
    series.observeWithExemplar(0.05, a, 1000);
    series.observeWithExemplar(0.1, b, 2000); // le is inclusive: still the first bucket
    series.observeWithExemplar(5, c, 3000);
    series.observeWithExemplar(-1, d, 4000); // dropped, as observe() drops it
    expect(series.counts).toEqual([3, 1, 1]);
    expect(series.exemplars).toEqual([
      { traceId: b.traceId, spanId: b.spanId, value: 0.1, timestampMs: 2000 },
      undefined,
      { traceId: c.traceId, spanId: c.spanId, value: 5, timestampMs: 3000 },
    ]);
  });
});

test('a series of an older copy of @bizmon/core (no observeWithExemplar) still observes', () => {
  const observed: number[] = [];
  const older = { observe: (v: number) => void observed.push(v) };
  expect(() => observeWithExemplar(older, 0.5, spanContext())).not.toThrow();
  expect(observed).toEqual([0.5]);
});

describe('exposition', () => {
  const sc1 = spanContext();
  const sc2 = spanContext();
  let at: number;
  beforeAll(() => {
    at = Date.now();
    const series = instruments.http_request_duration_seconds.labels('GET', '/ex/:id');
    series.observeWithExemplar(0.2, sc1); // bucket le=0.25
    series.observeWithExemplar(0.21, sc2); // same bucket: replaces sc1
    series.observeWithExemplar(42, sc1); // +Inf bucket
    series.observe(0.03); // le=0.05, no exemplar
  });

  test('OpenMetrics: on the _bucket lines, the last per bucket, within 128 label characters', async () => {
    const res = await scrape(OPENMETRICS);
    expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const text = await res.text();
    const lines = text.split('\n').filter((l) => l.includes('endpoint="/ex/:id"'));
    const exemplars = lines.filter((l) => l.includes(' # '));
    const ts = String.raw`(\d{10}(?:\.\d{1,3})?)`;
    const bucket = (le: string, count: number, sc: SpanContext, value: string): RegExp =>
      new RegExp(
        String.raw`^http_request_duration_seconds_bucket\{method="GET",endpoint="/ex/:id",le="${le}"\} ${count} # \{trace_id="${sc.traceId}",span_id="${sc.spanId}"\} ${value} ${ts}$`,
      );
    expect(exemplars).toHaveLength(2);
    expect(exemplars[0]).toMatch(bucket('0.25', 3, sc2, '0.21'));
    expect(exemplars[1]).toMatch(bucket(String.raw`\+Inf`, 4, sc1, '42'));
    for (const line of exemplars) {
      const seconds = Number(/ (\S+)$/.exec(line)![1]);
      expect(seconds * 1000).toBeGreaterThanOrEqual(Math.floor(at / 1000) * 1000);
      expect(seconds * 1000).toBeLessThanOrEqual(Date.now());
      const labelSet = /# \{(.*)\}/.exec(line)![1]!;
      const chars = [...labelSet.matchAll(/(\w+)="([^"]*)"/g)].reduce(
        (n, m) => n + m[1]!.length + [...m[2]!].length,
        0,
      );
      expect(chars).toBeLessThanOrEqual(128);
    }
    // Only bucket lines carry exemplars, and the bucket without one has none.
    expect(lines.filter((l) => l.includes('le="0.05"'))[0]).toMatch(/ 1$/);
    expect(text.match(/ # \{/g)?.length).toBe(
      text.split('\n').filter((l) => /^\w+_bucket\{.*\} \d+ # \{/.test(l)).length,
    );
  });

  test('protobuf: Bucket.exemplar with labels, value and timestamp; +Inf bucket carries its own', async () => {
    const res = await scrape(PROTOBUF);
    const families = new Map(
      delimited(Buffer.from(await res.arrayBuffer())).map((m) => {
        const f = fields(m);
        return [str(get(f, 1)), f];
      }),
    );
    const labelsOf = (pairs: Field[1][]): Record<string, string> =>
      Object.fromEntries(
        pairs.map((l) => [str(get(fields(l as Buffer), 1)), str(get(fields(l as Buffer), 2))]),
      );
    const metric = all(families.get('http_request_duration_seconds')!, 4)
      .map((m) => fields(m as Buffer))
      .find((m) => labelsOf(all(m, 1)).endpoint === '/ex/:id')!;
    const histogram = fields(get(metric, 7) as Buffer);
    expect(get(histogram, 1)).toBe(4);
    const buckets = all(histogram, 3).map((b) => {
      const f = fields(b as Buffer);
      const ex = get(f, 3) as Buffer | undefined;
      const exemplar =
        ex === undefined
          ? undefined
          : (() => {
              const e = fields(ex);
              const t = fields(get(e, 3) as Buffer);
              return {
                labels: labelsOf(all(e, 1)),
                value: get(e, 2),
                ms: (get(t, 1) as number) * 1000 + ((get(t, 2) as number | undefined) ?? 0) / 1e6,
              };
            })();
      return { le: get(f, 2), count: get(f, 1) ?? 0, exemplar };
    });
    const withExemplars = buckets.filter((b) => b.exemplar !== undefined);
    expect(withExemplars.map(({ le, count, exemplar }) => [le, count, exemplar!.labels])).toEqual([
      [0.25, 3, { trace_id: sc2.traceId, span_id: sc2.spanId }],
      [Infinity, 4, { trace_id: sc1.traceId, span_id: sc1.spanId }],
    ]);
    expect(withExemplars.map((b) => b.exemplar!.value)).toEqual([0.21, 42]);
    for (const b of withExemplars) {
      expect(b.exemplar!.ms).toBeGreaterThanOrEqual(at);
      expect(b.exemplar!.ms).toBeLessThanOrEqual(Date.now());
    }
    // The +Inf bucket is written only to carry an exemplar: the other buckets are the spec's.
    expect(buckets.filter((b) => b.le !== Infinity).map((b) => b.le)).toEqual(
      instruments.http_request_duration_seconds.spec.buckets,
    );
  });

  test('text 0.0.4 never shows them', async () => {
    const res = await scrape();
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain(
      'http_request_duration_seconds_bucket{method="GET",endpoint="/ex/:id",le="0.25"} 3\n',
    );
    expect(text).not.toContain(sc1.traceId);
    expect(text).not.toContain(sc2.traceId);
    expect(text).not.toMatch(/^[^#].* # /m);
    expect(await bizmon.telemetry().scrape()).not.toContain(sc1.traceId);
  });
});
