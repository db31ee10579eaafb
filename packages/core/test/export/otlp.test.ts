import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

interface OtlpPayload {
  resourceMetrics: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeMetrics: {
      metrics: {
        name: string;
        sum?: {
          dataPoints: {
            asDouble?: number;
            attributes: { key: string; value: { stringValue?: string } }[];
          }[];
        };
      }[];
    }[];
  }[];
}

test('OTEL_METRICS_EXPORTER=otlp pushes bizmon series to <endpoint>/v1/metrics', async () => {
  const received: { path: string; type: string; body: string }[] = [];
  const collector = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', () => resolve()));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(__dirname, '..', 'fixtures', 'otlp-push.cjs')],
      {
        env: {
          ...process.env,
          OTEL_METRICS_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`,
          OTEL_SERVICE_NAME: 'otlp-test',
        },
      },
    );
    // Prometheus is off, so no exporter port was opened.
    expect(stdout).toContain('EXPORTER off');
    expect(received.length).toBeGreaterThan(0);
    const first = received[0]!;
    expect(first.path).toBe('/v1/metrics');
    expect(first.type).toContain('application/json');
    const resource = (JSON.parse(first.body) as OtlpPayload).resourceMetrics[0]!;
    expect(resource.resource.attributes).toContainEqual({
      key: 'service.name',
      value: { stringValue: 'otlp-test' },
    });
    const metric = resource.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.name === 'ai_tasks_submitted_total');
    expect(metric?.sum?.dataPoints).toEqual([
      expect.objectContaining({
        asDouble: 2,
        attributes: [{ key: 'service', value: { stringValue: 'jimeng' } }],
      }),
    ]);
  } finally {
    collector.close();
  }
});

test('an OTLP endpoint with credentials: its query reaches the collector, and logs mask both', async () => {
  const received: string[] = [];
  // A collector refusing the key, so the push fails and the failure is logged.
  const collector = createServer((req: IncomingMessage, res) => {
    received.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":"bad key"}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', () => resolve()));
  try {
    const port = (collector.address() as AddressInfo).port;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(__dirname, '..', 'fixtures', 'otlp-push.cjs')],
      {
        env: {
          ...process.env,
          OTEL_METRICS_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://otlp-user:pw-SECRET-1@127.0.0.1:${port}/otlp?api_key=key-SECRET-2`,
        },
      },
    );
    expect(stdout).toContain('EXPORTER off');
    expect(received[0]).toBe('/otlp/v1/metrics?api_key=key-SECRET-2');
    expect(stderr).toContain(
      `metrics pushed over OTLP to http://***@127.0.0.1:${port}/otlp/v1/metrics?api_key=***`,
    );
    expect(stderr).toContain(
      `the OTLP push to http://***@127.0.0.1:${port}/otlp/v1/metrics?api_key=*** failed`,
    );
    expect(stderr).not.toMatch(/SECRET|otlp-user/);
  } finally {
    collector.close();
  }
});
