import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { instruments } from '@bizmon/core';
import { EXPOSITION_CONTENT_TYPES, negotiateExposition } from '@bizmon/core/internal';
import { parseTextFamilies } from '../../src/export/formats/families';
import { encodeLabelPairs } from '../../src/export/formats/protobuf';
import { ProtoWriter, varintSize } from '../../src/export/formats/proto-writer';
import { all, delimited, fields, get, str, type Field } from '../../../../test/support/protobuf';
import { useTelemetry } from '../../../../test/support/telemetry';

const bizmon = useTelemetry({ otelServiceName: 'formats-test' });

// Accept headers exactly as Prometheus 2.42 sends them (captured by test/scrape-formats.test.ts).
const PROMETHEUS_DEFAULT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROMETHEUS_NATIVE =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROTOBUF =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

describe('negotiation', () => {
  test.each([
    [undefined, 'text'],
    ['*/*', 'text'],
    ['text/plain', 'text'],
    ['application/json', 'text'],
    ['application/openmetrics-text;version=0.0.1', 'text'],
    ['application/openmetrics-text', 'openmetrics'],
    [PROMETHEUS_DEFAULT, 'openmetrics'],
    [PROMETHEUS_NATIVE, 'protobuf'],
    [PROTOBUF, 'protobuf'],
    // Parameters must match: another protobuf encoding is not ours.
    [
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text',
      'text',
    ],
    // q-values rank, whatever the order.
    ['application/openmetrics-text;version=1.0.0;q=0.2, text/plain;version=0.0.4;q=0.9', 'text'],
    [`text/plain;q=0.1, ${PROTOBUF};q=0.5`, 'protobuf'],
    ['application/openmetrics-text;q=0', 'text'],
    ['garbage;;;q=x,,', 'text'],
  ])('Accept %j → %s', (accept, format) => {
    const choice = negotiateExposition(accept === undefined ? {} : { accept });
    expect(choice.format).toBe(format);
    expect(choice.contentType).toBe(EXPOSITION_CONTENT_TYPES[format as 'text']);
  });

  test.each([
    [undefined, false],
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['br;q=1, gzip;q=0.5', true],
    ['gzip;q=0', false],
    ['identity', false],
    ['*', false],
    ['deflate', false],
  ])('Accept-Encoding %j → gzip %s', (acceptEncoding, gzip) => {
    const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
    expect(negotiateExposition(headers).gzip).toBe(gzip);
  });
});

describe('protobuf encoding', () => {
  test('varints and label pairs match known bytes', () => {
    const w = new ProtoWriter(1);
    for (const n of [0, 1, 127, 128, 300, 2 ** 31, 2 ** 53 - 1]) w.varint(n);
    expect(w.finish().toString('hex')).toBe(
      '00' + '01' + '7f' + '8001' + 'ac02' + '8080808008' + 'ffffffffffffff0f',
    );
    expect([0, 127, 128, 16383, 16384, 2 ** 53 - 1].map(varintSize)).toEqual([1, 1, 2, 2, 3, 8]);
    // Metric.label (field 1) { name (1) "a", value (2) "é" }
    expect(Buffer.from(encodeLabelPairs(['a'], ['é']), 'latin1').toString('hex')).toBe(
      '0a07' + '0a0161' + '1202c3a9',
    );
  });

  test('/metrics decodes into the MetricFamily messages of every series', async () => {
    const t0 = Date.now();
    instruments.http_requests_total.labels('GET', '/pb/:id', '200', 'admin').add(7);
    instruments.http_request_duration_seconds.labels('GET', '/pb/:id').observe(0.2);
    instruments.http_request_duration_seconds.labels('GET', '/pb/:id').observe(30);
    instruments.db_connection_pool_usage.labels('pb-pool').set(0.5);
    instruments.login_failures_total.labels('q"\\\né').add(1);
    const port = bizmon.telemetry().exporterAddress!.port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { accept: PROTOBUF } });
    expect(res.headers.get('content-type')).toBe(EXPOSITION_CONTENT_TYPES.protobuf);
    const families = new Map(
      delimited(Buffer.from(await res.arrayBuffer())).map((m) => {
        const f = fields(m);
        return [str(get(f, 1)), f];
      }),
    );
    expect(families.has('target_info')).toBe(true);
    const labelsOf = (metric: Field[]): Record<string, string> =>
      Object.fromEntries(
        all(metric, 1).map((l) => [
          str(get(fields(l as Buffer), 1)),
          str(get(fields(l as Buffer), 2)),
        ]),
      );
    const metricsOf = (name: string): Field[][] =>
      all(families.get(name)!, 4).map((m) => fields(m as Buffer));
    const find = (name: string, labels: Record<string, string>): Field[] =>
      metricsOf(name).find((m) => Object.entries(labels).every(([k, v]) => labelsOf(m)[k] === v))!;

    // Counter: type COUNTER (0), value, created timestamp.
    const requests = families.get('http_requests_total')!;
    expect(get(requests, 3)).toBe(0);
    expect(str(get(requests, 2))).toMatch(/^HTTP requests served/);
    const counter = fields(get(find('http_requests_total', { endpoint: '/pb/:id' }), 3) as Buffer);
    expect(get(counter, 1)).toBe(7);
    const created = fields(get(counter, 3) as Buffer);
    const createdMs = (get(created, 1) as number) * 1000 + ((get(created, 2) as number) ?? 0) / 1e6;
    expect(createdMs).toBeGreaterThanOrEqual(t0 - 1);
    expect(createdMs).toBeLessThanOrEqual(Date.now());
    expect(labelsOf(find('login_failures_total', { reason: 'q"\\\né' }))).toEqual({
      reason: 'q"\\\né',
    });

    // Histogram: type HISTOGRAM (4), count, sum, cumulative buckets without +Inf.
    expect(get(families.get('http_request_duration_seconds')!, 3)).toBe(4);
    const histogram = fields(
      get(find('http_request_duration_seconds', { endpoint: '/pb/:id' }), 7) as Buffer,
    );
    expect(get(histogram, 1)).toBe(2);
    expect(get(histogram, 2)).toBeCloseTo(30.2);
    const buckets = all(histogram, 3).map((b) => {
      const f = fields(b as Buffer);
      return [get(f, 2), get(f, 1) ?? 0];
    });
    expect(buckets).toEqual([
      [0.01, 0],
      [0.05, 0],
      [0.1, 0],
      [0.25, 1],
      [0.5, 1],
      [1, 1],
      [2.5, 1],
      [5, 1],
      [10, 1],
    ]);
    expect(get(histogram, 15)).toBeInstanceOf(Buffer);

    // Gauge: type GAUGE (1), value in Metric.gauge (2).
    expect(get(families.get('db_connection_pool_usage')!, 3)).toBe(1);
    const gauge = fields(get(find('db_connection_pool_usage', { pool: 'pb-pool' }), 2) as Buffer);
    expect(get(gauge, 1)).toBe(0.5);
  });
});

describe('OpenMetrics text', () => {
  test('counter families without _total, _created, UNIT, escaped HELP, # EOF last', async () => {
    instruments.http_requests_total.labels('GET', '/om/:id', '200', 'user').add(2);
    instruments.http_request_duration_seconds.labels('GET', '/om/:id').observe(0.3);
    instruments.login_failures_total.labels('om"\\\n').add(1);
    const port = bizmon.telemetry().exporterAddress!.port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { accept: PROMETHEUS_DEFAULT },
    });
    expect(res.headers.get('content-type')).toBe(EXPOSITION_CONTENT_TYPES.openmetrics);
    const text = await res.text();
    expect(text.endsWith('\n# EOF\n')).toBe(true);
    expect(text.indexOf('# EOF')).toBe(text.length - '# EOF\n'.length);
    expect(text).toContain('# TYPE http_requests counter\n# HELP http_requests HTTP requests');
    expect(text).not.toMatch(/^# (TYPE|HELP|UNIT) \S+_total /m);
    expect(text).toMatch(
      /^http_requests_total\{method="GET",endpoint="\/om\/:id",status_code="200",user_role="user"\} 2\nhttp_requests_created\{method="GET",endpoint="\/om\/:id",status_code="200",user_role="user"\} \d{10}(\.\d+)?\n/m,
    );
    expect(text).toContain('login_failures_total{reason="om\\"\\\\\\n"} 1\n');
    expect(text).toContain(
      '# TYPE http_request_duration_seconds histogram\n# HELP http_request_duration_seconds HTTP request duration in seconds, by method and endpoint template.\n# UNIT http_request_duration_seconds seconds\n',
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{method="GET",endpoint="\/om\/:id",le="\+Inf"\} 1\nhttp_request_duration_seconds_count\{method="GET",endpoint="\/om\/:id"\} 1\nhttp_request_duration_seconds_sum\{method="GET",endpoint="\/om\/:id"\} 0.3\nhttp_request_duration_seconds_created\{method="GET",endpoint="\/om\/:id"\} \d{10}/,
    );
    // target_info is the info family `target`; every UNIT matches its family name's end.
    expect(text).toMatch(/^# TYPE target info\n# HELP target Target metadata\ntarget_info\{/m);
    for (const [, family, unit] of text.matchAll(/^# UNIT (\S+) (\S+)$/gm)) {
      expect(family!.endsWith(`_${unit}`)).toBe(true);
    }
    // Every sample belongs to the family declared before it.
    let family = '';
    for (const line of text.split('\n')) {
      const declared = /^# TYPE (\S+) /.exec(line);
      if (declared) family = declared[1]!;
      else if (line !== '' && !line.startsWith('#')) expect(line.startsWith(family)).toBe(true);
    }
  });
});

/** GETs /metrics with node:http (fetch would undo gzip itself): headers and raw bytes. */
function rawGet(
  headers: Record<string, string>,
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  const port = bizmon.telemetry().exporterAddress!.port;
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path: '/metrics', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
    }).on('error', reject);
  });
}

describe('the /metrics response', () => {
  test.each([
    ['text', undefined],
    ['openmetrics', PROMETHEUS_DEFAULT],
    ['protobuf', PROMETHEUS_NATIVE],
  ])('%s: gzip when asked, the same body; Vary set', async (format, accept) => {
    const get = (encoding: string) =>
      rawGet({ ...(accept ? { accept } : {}), 'accept-encoding': encoding });
    const zipped = await get('gzip');
    const plain = await get('identity');
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(plain.headers['content-encoding']).toBeUndefined();
    for (const r of [zipped, plain]) {
      expect(r.headers.vary).toBe('Accept, Accept-Encoding');
      expect(r.headers['content-type']).toBe(EXPOSITION_CONTENT_TYPES[format as 'text']);
    }
    // No traffic between the two scrapes: the same values and created timestamps.
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.body.length).toBeLessThan(plain.body.length);
  });
});

describe('reading the OpenTelemetry serializer text back', () => {
  test('families, escapes and histogram series', () => {
    const families = parseTextFamilies(
      [
        '# HELP app_total A "quoted" \\\\ help\\nline',
        '# TYPE app_total counter',
        'app_total{a="x\\"y\\\\z\\nw",b="2"} 5',
        '# HELP h H',
        '# UNIT h s',
        '# TYPE h histogram',
        'h_count{q="1"} 3',
        'h_sum{q="1"} 1.5',
        'h_bucket{q="1",le="0.5"} 1',
        'h_bucket{q="1",le="+Inf"} 3',
        'h_count 1',
        'h_sum 2',
        'h_bucket{le="+Inf"} 1',
        'untyped_thing NaN',
        '',
      ].join('\n'),
    );
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['app_total', 'counter'],
      ['h', 'histogram'],
      ['untyped_thing', 'untyped'],
    ]);
    expect(families[0]!.help).toBe('A "quoted" \\ help\nline');
    expect(families[0]!.series[0]!.labels).toEqual([
      ['a', 'x"y\\z\nw'],
      ['b', '2'],
    ]);
    expect(families[1]!.series).toEqual([
      {
        labels: [['q', '1']],
        value: 0,
        count: 3,
        sum: 1.5,
        buckets: [
          [0.5, 1],
          [Infinity, 3],
        ],
      },
      { labels: [], value: 0, count: 1, sum: 2, buckets: [[Infinity, 1]] },
    ]);
    expect(families[2]!.series[0]!.value).toBeNaN();
  });
});

describe('hostile clients', () => {
  test('an Accept of thousands of junk entries gets text, and the server answers on', async () => {
    const junk = Array.from({ length: 550 }, (_, i) => `x/y${i};q=0.${i % 10};a="b,c"`).join(',');
    expect(junk.length).toBeGreaterThan(10_000);
    const r = await rawGet({ accept: junk, 'accept-encoding': 'gzip;q=abc, *;q=-1' });
    expect(r.headers['content-type']).toBe(EXPOSITION_CONTENT_TYPES.text);
    expect((await rawGet({})).headers['content-type']).toBe(EXPOSITION_CONTENT_TYPES.text);
  });

  test('a client that drops a gzip stream mid-body leaves the server serving', async () => {
    // Enough series that the body is still being compressed when the client goes away.
    for (let i = 0; i < 3000; i++) {
      instruments.http_requests_total.labels('GET', `/drop/${i}`, '200', 'user').add(1);
    }
    const port = bizmon.telemetry().exporterAddress!.port;
    await new Promise<void>((resolve, reject) => {
      const req = httpGet(
        {
          host: '127.0.0.1',
          port,
          path: '/metrics',
          headers: { accept: PROMETHEUS_DEFAULT, 'accept-encoding': 'gzip' },
        },
        (res) => {
          expect(res.headers['content-encoding']).toBe('gzip');
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ECONNRESET') reject(err);
      });
    });
    const after = await rawGet({ accept: PROMETHEUS_DEFAULT, 'accept-encoding': 'gzip' });
    expect(gunzipSync(after.body).toString().endsWith('# EOF\n')).toBe(true);
  });
});
