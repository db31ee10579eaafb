import { instruments } from '@bizmon/core';
import { EXPOSITION_CONTENT_TYPES } from '@bizmon/core/internal';
import {
  lowerKey,
  NATIVE_HISTOGRAM_MAX_BUCKETS,
  NATIVE_HISTOGRAM_ZERO_THRESHOLD,
  NativeBuckets,
  nativeSpans,
  schema3Key,
} from '../../src/model/native-histogram';
import { state } from '../../src/base/state';
import { all, delimited, fields, get, type Field } from '../../../../test/support/protobuf';
import { useTelemetry } from '../../../../test/support/telemetry';

const bizmon = useTelemetry({ otelServiceName: 'native-test', bizmonNativeHistograms: true });

/*
 * The reference: prometheus/client_golang's algorithm (prometheus/histogram.go), restated
 * independently of the module under test: math.Frexp through Math.log2 and exact scaling,
 * sort.SearchFloat64s as a linear scan, and nativeHistogramBounds for schemas 1-3 as
 * histogram.go ships them.
 */
function frexp(v: number): [number, number] {
  let exp = Math.ceil(Math.log2(v));
  let frac = v * 2 ** -exp;
  while (frac >= 1) {
    frac /= 2;
    exp++;
  }
  while (frac < 0.5) {
    frac *= 2;
    exp--;
  }
  return [frac, exp];
}
const GO_BOUNDS: number[][] = [
  [0.5],
  [0.5, 0.7071067811865475],
  [0.5, 0.5946035575013605, 0.7071067811865475, 0.8408964152537144],
  [
    0.5, 0.5452538663326288, 0.5946035575013605, 0.6484197773255048, 0.7071067811865475,
    0.7711054127039704, 0.8408964152537144, 0.9170040432046711,
  ],
];
/** client_golang's sparse bucket key of a positive, finite `v` at `schema`. */
function goKey(v: number, schema: number): number {
  const [frac, exp] = frexp(v);
  if (schema > 0) {
    const bounds = GO_BOUNDS[schema]!;
    let i = 0;
    while (i < bounds.length && bounds[i]! < frac) i++;
    return i + (exp - 1) * bounds.length;
  }
  let key = exp;
  if (frac === 0.5) key--;
  const offset = (1 << -schema) - 1;
  return (key + offset) >> -schema;
}

/** Values across the whole range, with every kind of edge. */
function sampleValues(): number[] {
  const values: number[] = [];
  for (let e = -127; e <= 1023; e++) {
    const p = 2 ** e;
    values.push(p, p * (1 + Number.EPSILON), p * (1 - Number.EPSILON / 2));
  }
  // Every schema-3 boundary of a few powers of two, and one ulp either side of it.
  for (let e = -12; e <= 12; e++) {
    for (const b of GO_BOUNDS[3]!) {
      const bound = b * 2 ** e;
      values.push(bound, bound * (1 + Number.EPSILON), bound * (1 - Number.EPSILON / 2));
    }
  }
  // Pseudo-random values, log-uniform over the range (a fixed seed: reproducible).
  let seed = 42;
  for (let i = 0; i < 20_000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    values.push(2 ** ((seed / 2 ** 31) * 1150 - 127));
  }
  values.push(Number.MAX_VALUE, 0.2, 3, 30, 1e-9, 1e9, 0.005, 10);
  return values.filter((v) => v > NATIVE_HISTOGRAM_ZERO_THRESHOLD && v < Infinity);
}

describe('bucket index', () => {
  test("client_golang's bounds are 2^(i/2^s - 1), to the last bit or two", () => {
    for (let schema = 1; schema <= 3; schema++) {
      GO_BOUNDS[schema]!.forEach((bound, i) => {
        expect(Math.abs(bound / 2 ** (i / 2 ** schema - 1) - 1)).toBeLessThan(4 * Number.EPSILON);
      });
    }
  });

  test.each([
    [1, 0],
    [2, 8],
    [4, 16],
    [0.5, -8],
    [0.25, -16],
    [1.5, 5], // 2^(4/8) = 1.414 < 1.5 <= 2^(5/8) = 1.542
    [0.2, -18], // 2^(-19/8) = 0.1929 < 0.2 <= 2^(-18/8) = 0.2102
    [3, 13], // 2^(12/8) = 2.828 < 3 <= 2^(13/8) = 3.084
    [30, 40], // 2^(39/8) = 29.34 < 30 <= 2^(40/8) = 32
    [2 ** 0.125, 1], // exactly on a boundary (as client_golang's table has it): the lower bucket
    [2 ** -128 * (1 + Number.EPSILON), -1023], // just above the zero threshold
    [2 ** -127, -1016],
    [Number.MAX_VALUE, 8192], // the last finite bucket, upper bound 2^1024
  ])('%p → %p', (value, key) => {
    expect(schema3Key(value)).toBe(key);
    expect(goKey(value, 3)).toBe(key);
  });

  test('schema 3 matches client_golang on powers of two, boundaries ±1 ulp and 20,000 values', () => {
    const mismatches = sampleValues().filter((v) => schema3Key(v) !== goKey(v, 3));
    expect(mismatches).toEqual([]);
  });

  test('the bucket holds the value: 2^((k-1)/8) < v <= 2^(k/8), off only within float error', () => {
    const outside = sampleValues().filter((v) => {
      const k = schema3Key(v);
      const log = Math.log2(v) * 8;
      const slack = 1e-9 * Math.max(1, Math.abs(log));
      return !(log > k - 1 - slack && log <= k + slack);
    });
    expect(outside).toEqual([]);
  });

  test('a lower schema is the schema-3 key merged pairwise, as client_golang computes it directly', () => {
    const mismatches: [number, number][] = [];
    for (const v of sampleValues()) {
      const key = schema3Key(v);
      for (let schema = 2; schema >= -4; schema--) {
        if (lowerKey(key, 3 - schema) !== goKey(v, schema)) mismatches.push([v, schema]);
      }
    }
    expect(mismatches).toEqual([]);
    // doubleBucketWidth's merge: key > 0 → (key+1)/2, else key/2, truncating.
    for (let k = -50; k <= 50; k++) {
      expect(lowerKey(k, 1)).toBe(Math.trunc(k > 0 ? (k + 1) / 2 : k / 2) + 0);
    }
  });
});

describe('NativeBuckets', () => {
  /** The buckets as key → count. */
  const byKey = (b: NativeBuckets): Map<number, number> =>
    new Map(b.counts.flatMap((c, i) => (c === 0 ? [] : [[b.offset + i, c] as const])));

  test('counts each value in its bucket, zero and tiny values in the zero bucket', () => {
    const b = new NativeBuckets();
    for (let i = 0; i < 60; i++) b.observe(0.2);
    for (let i = 0; i < 40; i++) b.observe(3);
    for (const v of [0, 2 ** -128, 2 ** -129, Number.MIN_VALUE]) b.observe(v);
    expect(b.schema).toBe(3);
    expect(b.zeroCount).toBe(4);
    expect(byKey(b)).toEqual(
      new Map([
        [-18, 60],
        [13, 40],
      ]),
    );
    expect(b.counts.length).toBe(13 - -18 + 1);
  });

  test('a range wider than the limit lowers the resolution until it fits, keeping every count', () => {
    const b = new NativeBuckets();
    const values = sampleValues().filter((_, i) => i % 7 === 0);
    for (const v of values) b.observe(v);
    // 2^-127 .. 2^1024 needs schema -3 (1151 powers of two / 8 per bucket = 144 buckets).
    expect(b.schema).toBe(-3);
    expect(b.counts.length).toBeLessThanOrEqual(NATIVE_HISTOGRAM_MAX_BUCKETS);
    const expected = new Map<number, number>();
    for (const v of values) {
      const k = goKey(v, b.schema);
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    expect(byKey(b)).toEqual(expected);
  });

  test('latencies from 1 ms to 60 s stay at schema 3 (128 buckets)', () => {
    const b = new NativeBuckets();
    b.observe(0.001);
    b.observe(60);
    expect(b.schema).toBe(3);
    expect(b.counts.length).toBe(schema3Key(60) - schema3Key(0.001) + 1);
    b.observe(1e-6); // 1 µs: 207 buckets, one step down
    expect(b.schema).toBe(2);
    expect(byKey(b)).toEqual(
      new Map([
        [goKey(1e-6, 2), 1],
        [goKey(0.001, 2), 1],
        [goKey(60, 2), 1],
      ]),
    );
  });
});

test('spans and deltas: gaps of one or two buckets are filled, longer gaps start a span', () => {
  const spans: number[] = [];
  const deltas: number[] = [];
  // keys -2, -1, 1 (gap 1), 4 (gap 2), 8 (gap 3: new span)
  const counts = [3, 1, 0, 5, 0, 0, 2, 0, 0, 0, 7];
  nativeSpans({ schema: 3, zeroThreshold: 0, zeroCount: 0, offset: -2, counts }, spans, deltas);
  expect(spans).toEqual([-2, 7, 3, 1]);
  expect(deltas).toEqual([3, -2, -1, 5, -5, 0, 2, 5]);
  nativeSpans({ schema: 3, zeroThreshold: 0, zeroCount: 0, offset: 0, counts: [] }, spans, deltas);
  expect(spans).toEqual([]);
  expect(deltas).toEqual([]);
});

// --- The protobuf exposition, decoded field by field (client_model metrics.proto) ---

const unzigzag = (n: number): number => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);
const PROTOBUF =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

/** The Histogram message of each http_request_duration_seconds series, by endpoint. */
async function scrapeHistograms(): Promise<Map<string, Field[]>> {
  const port = bizmon.telemetry().exporterAddress!.port;
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { accept: PROTOBUF } });
  expect(res.headers.get('content-type')).toBe(EXPOSITION_CONTENT_TYPES.protobuf);
  const family = delimited(Buffer.from(await res.arrayBuffer()))
    .map(fields)
    .find((f) => (get(f, 1) as Buffer).toString() === 'http_request_duration_seconds')!;
  const out = new Map<string, Field[]>();
  for (const metric of all(family, 4).map((m) => fields(m as Buffer))) {
    const labels = all(metric, 1).map((l) => fields(l as Buffer));
    const endpoint = labels.find((l) => (get(l, 1) as Buffer).toString() === 'endpoint')!;
    out.set((get(endpoint, 2) as Buffer).toString(), fields(get(metric, 7) as Buffer));
  }
  return out;
}

/** A Histogram message's native buckets as key → count (spans and deltas undone). */
function nativeBuckets(h: Field[]): Map<number, number> {
  const spans = all(h, 12).map((s) => fields(s as Buffer));
  const deltas = all(h, 13).map((d) => unzigzag(d as number));
  const out = new Map<number, number>();
  let key = 0;
  let count = 0;
  let d = 0;
  for (const span of spans) {
    key += unzigzag((get(span, 1) as number | undefined) ?? 0);
    for (let i = 0; i < ((get(span, 2) as number | undefined) ?? 0); i++) {
      count += deltas[d++]!;
      if (count !== 0) out.set(key, count);
      key++;
    }
  }
  expect(d).toBe(deltas.length);
  return out;
}

describe('protobuf exposition with BIZMON_NATIVE_HISTOGRAMS=true', () => {
  test('every histogram carries schema 3, the zero bucket, spans and deltas beside its classic buckets', async () => {
    const h = instruments.http_request_duration_seconds.labels('GET', '/native/:id');
    for (let i = 0; i < 60; i++) h.observe(0.2);
    for (let i = 0; i < 40; i++) h.observe(3);
    h.observe(0);
    h.observe(30);
    h.observe(31); // the same bucket as 30: (2^(39/8), 32]
    instruments.http_request_duration_seconds.labels('GET', '/native/empty');

    const histograms = await scrapeHistograms();
    const m = histograms.get('/native/:id')!;
    expect(get(m, 1)).toBe(103); // sample_count
    expect(get(m, 5)).toBe(6); // schema 3, zigzag-encoded
    expect(get(m, 6)).toBe(2 ** -128); // zero_threshold
    expect(get(m, 7)).toBe(1); // zero_count
    expect(all(m, 9)).toEqual([]); // no negative buckets
    expect(all(m, 10)).toEqual([]);
    expect(nativeBuckets(m)).toEqual(
      new Map([
        [-18, 60],
        [13, 40],
        [40, 2],
      ]),
    );
    // Three spans: -18 (length 1), 13 (a gap of 30), 40 (a gap of 26).
    expect(all(m, 12).map((s) => fields(s as Buffer))).toEqual([
      [
        [1, 35],
        [2, 1],
      ],
      [
        [1, 60],
        [2, 1],
      ],
      [
        [1, 52],
        [2, 1],
      ],
    ]);
    // The classic buckets are unchanged (0.25 holds the 60 values of 0.2 and the zero).
    const classic = all(m, 3).map((b) => {
      const f = fields(b as Buffer);
      return [get(f, 2), get(f, 1) ?? 0];
    });
    expect(classic).toEqual([
      [0.01, 1],
      [0.05, 1],
      [0.1, 1],
      [0.25, 61],
      [0.5, 61],
      [1, 61],
      [2.5, 61],
      [5, 101],
      [10, 101],
    ]);

    // A series without observations is native too (Prometheus 2.42 decides by the family's
    // first series): its zero threshold is set, with no buckets.
    const empty = histograms.get('/native/empty')!;
    expect(get(empty, 1) ?? 0).toBe(0);
    expect(get(empty, 5)).toBe(6);
    expect(get(empty, 6)).toBe(2 ** -128);
    expect(get(empty, 7) ?? 0).toBe(0);
    expect(all(empty, 12)).toEqual([]);
  });

  test('a lowered resolution is exposed with its schema (zigzag-encoded, negative too)', async () => {
    const wide = instruments.http_request_duration_seconds.labels('GET', '/native/wide');
    for (const v of [1e-6, 0.001, 60]) wide.observe(v);
    const widest = instruments.http_request_duration_seconds.labels('GET', '/native/widest');
    for (const v of [2 ** -120, 1, 1e300]) widest.observe(v);
    const histograms = await scrapeHistograms();
    const w = histograms.get('/native/wide')!;
    expect(unzigzag(get(w, 5) as number)).toBe(2);
    expect(nativeBuckets(w)).toEqual(new Map([1e-6, 0.001, 60].map((v) => [goKey(v, 2), 1])));
    const ww = histograms.get('/native/widest')!;
    expect(unzigzag(get(ww, 5) as number)).toBe(-3);
    expect(nativeBuckets(ww)).toEqual(new Map([2 ** -120, 1, 1e300].map((v) => [goKey(v, -3), 1])));
  });

  test('text and OpenMetrics show only the classic buckets', async () => {
    instruments.http_request_duration_seconds.labels('GET', '/native/text').observe(0.2);
    const port = bizmon.telemetry().exporterAddress!.port;
    for (const accept of ['text/plain', 'application/openmetrics-text; version=1.0.0']) {
      const text = await (
        await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { accept } })
      ).text();
      const lines = text.split('\n').filter((l) => l.includes('endpoint="/native/text"'));
      expect(lines.map((l) => /^\w+/.exec(l)![0]).sort()).toEqual([
        ...Array<string>(10).fill('http_request_duration_seconds_bucket'),
        'http_request_duration_seconds_count',
        ...(accept === 'text/plain' ? [] : ['http_request_duration_seconds_created']),
        'http_request_duration_seconds_sum',
      ]);
    }
  });

  test('with the flag off, series get no native buckets and protobuf carries none', async () => {
    state.nativeHistograms = false;
    try {
      const h = instruments.http_request_duration_seconds.labels('GET', '/native/off');
      h.observe(0.2);
      expect((h as unknown as { native: unknown }).native).toBeUndefined();
      for (const m of (await scrapeHistograms()).values()) {
        expect(m.filter(([k]) => k >= 5 && k <= 14)).toEqual([]);
      }
    } finally {
      state.nativeHistograms = true;
    }
  });
});
