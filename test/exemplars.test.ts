/**
 * Exemplars end to end: an app that traces with OpenTelemetry (test/fixtures/traced-app.cjs:
 * its own TracerProvider and instrumentation-http) runs with the bizmon preload; a real
 * Prometheus with `--enable-feature=exemplar-storage` scrapes it, in OpenMetrics (what 2.42
 * asks for by default) and in protobuf (what it asks for with native-histograms on), and
 * `/api/v1/query_exemplars` must return the trace and server-span ids of the app's requests on
 * http_request_duration_seconds, and of the queries they ran on db_query_duration_seconds
 * (real PostgreSQL). A request whose trace is not sampled, and a query outside any request,
 * leave no exemplar.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeIf, hasBinary, hasServer } from './support/env';
import { get, startApp, type RunningApp } from './support/apps';
import { startReadyServer, type ReadyServer } from './support/prometheus-process';

const available = hasBinary('prometheus');
const fixture = join(__dirname, 'fixtures', 'traced-app.cjs');
const DATABASE_URL =
  process.env.BIZMON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface FinishedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  sampled: boolean;
  url?: string;
}

interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

const SERVER_KIND = 1;

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describeIf(available).each([
  ['OpenMetrics', 'exemplar-storage'],
  ['protobuf', 'exemplar-storage,native-histograms'],
])('exemplars scraped by Prometheus (%s)', (_format, features) => {
  let app: RunningApp;
  let prometheus: ReadyServer;
  let dir: string;
  let withDb = false;
  const started = Date.now() / 1000;

  beforeAll(async () => {
    withDb = await hasServer('PostgreSQL', '127.0.0.1', 5432);
    app = await startApp(fixture, { env: withDb ? { DATABASE_URL } : {} });
    dir = mkdtempSync(join(tmpdir(), 'bizmon-exemplars-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n' +
        `  - job_name: app\n    static_configs: [{ targets: ['127.0.0.1:${app.exporterPort}'] }]\n`,
    );
    prometheus = await startReadyServer('prometheus', 'prometheus', (port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--enable-feature=${features}`,
    ]);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await app?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function exemplars(selector: string): Promise<ExemplarSeries[]> {
    const params = new URLSearchParams({
      query: selector,
      start: String(started - 60),
      end: String(Date.now() / 1000 + 60),
    });
    const res = await fetch(`${prometheus.base}/api/v1/query_exemplars?${params}`);
    const body = (await res.json()) as { status: string; data: ExemplarSeries[] };
    expect(body.status).toBe('success');
    return body.data;
  }

  async function spans(): Promise<FinishedSpan[]> {
    return JSON.parse((await get(`http://127.0.0.1:${app.port}/spans`)).body) as FinishedSpan[];
  }

  /** Waits until Prometheus holds an exemplar of `selector` with these ids; returns its series. */
  function exemplarFor(selector: string, traceId: string, spanId: string): Promise<ExemplarSeries> {
    return until(`an exemplar of ${selector} for trace ${traceId}`, 20_000, async () =>
      (await exemplars(selector)).find((s) =>
        s.exemplars.some((e) => e.labels.trace_id === traceId && e.labels.span_id === spanId),
      ),
    );
  }

  test('every traced request is an exemplar with its trace and server span', async () => {
    // One request at a time, each waited for in Prometheus: a bucket shows only its latest.
    for (const ms of [1, 120, 300]) {
      const res = await get(`http://127.0.0.1:${app.port}/work/${ms}`);
      expect(res.body).toBe('done');
      const server = (await spans()).find(
        (s) => s.kind === SERVER_KIND && s.url === `/work/${ms}`,
      )!;
      expect(server.sampled).toBe(true);
      const series = await exemplarFor(
        'http_request_duration_seconds_bucket{endpoint="/work/:id"}',
        server.traceId,
        server.spanId,
      );
      expect(series.seriesLabels).toMatchObject({ method: 'GET', endpoint: '/work/:id' });
      const exemplar = series.exemplars.find((e) => e.labels.trace_id === server.traceId)!;
      expect(Object.keys(exemplar.labels).sort()).toEqual(['span_id', 'trace_id']);
      // The value lies in the series' bucket, and is at least the handler's own wait.
      expect(Number(exemplar.value)).toBeGreaterThanOrEqual(ms / 1000);
      expect(Number(exemplar.value)).toBeLessThanOrEqual(Number(series.seriesLabels.le));
      expect(exemplar.timestamp).toBeGreaterThanOrEqual(started);

      if (withDb) {
        // The query ran inside the request's span: its duration carries the same ids.
        await exemplarFor(
          'db_query_duration_seconds_bucket{table="pg_catalog.pg_class"}',
          server.traceId,
          server.spanId,
        );
      }
    }

    // Every exemplar Prometheus holds belongs to a sampled trace of the app.
    const known = new Set((await spans()).filter((s) => s.sampled).map((s) => s.traceId));
    const all = await exemplars(
      '{__name__=~"http_request_duration_seconds_bucket|db_query_duration_seconds_bucket"}',
    );
    const ids = all.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id));
    expect(ids.length).toBeGreaterThanOrEqual(3);
    for (const id of ids) expect(known.has(id!)).toBe(true);
    // The query the app ran at start, outside any request, left no exemplar.
    expect(
      await exemplars('db_query_duration_seconds_bucket{table="pg_catalog.pg_namespace"}'),
    ).toEqual([]);
  });

  test('a request whose trace is not sampled leaves no exemplar', async () => {
    const count = async (): Promise<number | undefined> => {
      const expr = 'sum(http_request_duration_seconds_count{endpoint="/work/:id"})';
      const res = await fetch(`${prometheus.base}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      const sample = body.data.result[0];
      return sample === undefined ? undefined : Number(sample.value[1]);
    };
    const before = await until('a scrape of /work requests', 20_000, count);
    const unsampledTrace = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`http://127.0.0.1:${app.port}/work/2`, {
      headers: { traceparent: `00-${unsampledTrace}-b7ad6b7169203331-00` },
    });
    expect(await res.text()).toBe('done');
    // Prometheus has scraped the series with the unsampled request counted.
    await until('a scrape after the unsampled request', 20_000, async () =>
      (await count()) === before + 1 ? true : undefined,
    );
    const all = await exemplars('{__name__=~".+_bucket"}');
    const ids = all.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id));
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toContain(unsampledTrace);
  });
});
