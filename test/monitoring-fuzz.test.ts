/**
 * Issue #13, finding 1: every request the HTTP parser accepts — any target, method, header or
 * body — gets an HTTP answer from the exporter and from createMonitoringHandler, and the process
 * stays up. Property-based, over raw sockets so malformed targets reach the server unchanged.
 */
import fc from 'fast-check';
import { get, startApp } from './support/apps';
import { MONITORING_APP, MONITORING_MOUNTS } from './support/monitoring-mounts';
import { sendRaw } from './support/raw-http';

const SEED = 13;
const RUNS = 600;

/** RFC 9110 token characters: what a method or a header name is made of. */
const tokenChar = fc.constantFrom(
  ..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split(''),
);
const token = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: tokenChar, minLength: 1, maxLength });
/** Visible ASCII: what a request target may hold without the parser refusing it outright. */
const visible = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
/** Any byte but CR and LF: header values, including control and high bytes the parser refuses. */
const valueByte = fc
  .integer({ min: 0, max: 0xff })
  .filter((c) => c !== 0x0d && c !== 0x0a)
  .map((c) => String.fromCharCode(c));

const PATHS = ['/metrics', '/health', '/stats'];
const PREFIXES = ['', '/monitoring', '//', '/monitoring/', 'http://x', 'http://x/monitoring'];

function targets(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      '//',
      '*',
      'http://x/',
      'http://x/metrics',
      'https://x:1/monitoring/health?x=1',
      'x.example:443',
      '/%',
      '/%zz',
      '/monitoring/%E0%A4%A',
      '/metrics/%00',
      '/..%2f..%2fetc%2fpasswd',
      '/metrics?',
      '/metrics#frag',
      '/monitoring//metrics',
      '/METRICS',
    ),
    fc
      .tuple(
        fc.constantFrom(...PREFIXES),
        fc.constantFrom(...PATHS),
        fc.string({ unit: visible, maxLength: 40 }),
      )
      .map(([prefix, path, tail]) => `${prefix}${path}${tail}`),
    fc.string({ unit: visible, minLength: 1, maxLength: 200 }),
    fc
      .array(
        fc.oneof(
          fc.constantFrom('%', '/', '?', '=', '&', '%c3', '%ff', '%2'),
          fc.string({ unit: visible, maxLength: 3 }),
        ),
        { maxLength: 30 },
      )
      .map((parts) => `/${parts.join('')}`),
    // Long targets, up to past node's 16 KiB header limit (431).
    fc.integer({ min: 1000, max: 20000 }).map((n) => `/monitoring/metrics?${'a'.repeat(n)}`),
  );
}

const methods = fc.oneof(
  fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND'),
  token(12),
);

/** Headers other than the framing ones, which the request builder sets itself. */
const headers = fc.array(
  fc.oneof(
    fc.tuple(
      token(20).filter((n) => !/^(content-length|transfer-encoding|connection|host)$/i.test(n)),
      fc.string({ unit: valueByte, maxLength: 60 }),
    ),
    fc.constantFrom<[string, string]>(
      ['Authorization', 'Bearer '],
      ['Authorization', 'Bearer wrong-token'],
      ['Authorization', 'Basic Zm9vOmJhcg=='],
      ['Expect', '100-continue'],
      ['Expect', 'teapot'],
      ['Upgrade', 'websocket'],
      ['Accept', 'application/openmetrics-text; version=1.0.0'],
      ['Cookie', `a=${'x'.repeat(4000)}`],
    ),
  ),
  { maxLength: 8 },
);

const bodies = fc.option(
  fc.tuple(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom('length', 'chunked')),
  { nil: undefined },
);

interface RawRequest {
  method: string;
  target: string;
  version: string;
  host: boolean;
  headers: [string, string][];
  body: [Uint8Array, string] | undefined;
}

function build(r: RawRequest): Buffer {
  const lines = [`${r.method} ${r.target} ${r.version}`];
  if (r.host) lines.push('Host: 127.0.0.1');
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
  lines.push('Connection: close');
  let body = Buffer.alloc(0);
  if (r.body) {
    const [bytes, framing] = r.body;
    if (framing === 'length') {
      lines.push(`Content-Length: ${bytes.length}`);
      body = Buffer.from(bytes);
    } else {
      lines.push('Transfer-Encoding: chunked');
      const size = bytes.length.toString(16);
      body = Buffer.concat([
        Buffer.from(bytes.length ? `${size}\r\n` : ''),
        Buffer.from(bytes),
        Buffer.from(bytes.length ? '\r\n0\r\n\r\n' : '0\r\n\r\n'),
      ]);
    }
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

function requests(withConnect: boolean): fc.Arbitrary<RawRequest> {
  return fc.record({
    method: withConnect
      ? fc.oneof(methods, fc.constant('CONNECT'))
      : methods.filter((m) => m !== 'CONNECT'),
    target: targets(),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
    host: fc.boolean(),
    headers,
    body: bodies,
  });
}

// On the exporter, CONNECT too: it never reaches a request handler, so in an app's own server
// it is the app's business, but the exporter is bizmon's whole server.
describe.each(MONITORING_MOUNTS)('$name', ({ env, port, prefix, wholeServer }) => {
  test('answers every request the parser accepts and stays up', async () => {
    const app = await startApp(MONITORING_APP, { env });
    try {
      await fc.assert(
        fc.asyncProperty(requests(wholeServer), async (r) => {
          const answer = await sendRaw(port(app), build(r));
          if (answer.status === undefined) {
            throw new Error(
              `no HTTP answer (${answer.failure}): ${JSON.stringify(answer.received.slice(0, 200))}`,
            );
          }
          expect(answer.status).toBeGreaterThanOrEqual(100);
          expect(answer.status).toBeLessThan(600);
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      expect(app.child.exitCode).toBeNull();
      expect((await get(`http://127.0.0.1:${port(app)}${prefix}/metrics`)).status).toBe(200);
      expect(app.output()).not.toMatch(/Uncaught|TypeError|RangeError|ERR_/);
    } finally {
      await app.stop();
    }
  });
});
