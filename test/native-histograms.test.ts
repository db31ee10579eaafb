/**
 * BIZMON_NATIVE_HISTOGRAMS=true through the real Prometheus (Debian's 2.42): an app preloaded
 * with the flag on is scraped by one Prometheus with `--enable-feature=native-histograms` (it
 * asks for protobuf and ingests the native buckets) and one without (it asks for OpenMetrics
 * and sees the classic buckets only). Values follow from the requests the test makes: 1 + 25
 * requests to /work, and 60 observations of 0.2 s and 40 of 3 s in the /known series.
 *
 * What it pins down, as docs/README say: with the feature on, Prometheus 2.42 keeps only the
 * native histogram of a family that has one — no `_bucket`, `_count` or `_sum` series — so
 * deploy/'s classic-bucket rules find nothing there (scrape_classic_histograms, which keeps both,
 * came in 2.45); without the feature the classic queries work unchanged.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describeIf, hasBinary } from './support/env';
import { startApp, type RunningApp } from './support/apps';
import { startReadyServer, type ReadyServer } from './support/prometheus-process';

const available = hasBinary('prometheus');

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(prom: ReadyServer, expr: string, time?: number): Promise<Sample[]> {
  const at = time === undefined ? '' : `&time=${time}`;
  const res = await fetch(`${prom.base}/api/v1/query?query=${encodeURIComponent(expr)}${at}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data.result;
}

interface NativeSample {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

/** The native histogram samples of a query, per series, as [time, histogram] pairs. */
async function rawHistograms(
  prom: ReadyServer,
  expr: string,
  time?: number,
): Promise<[number, NativeSample][][]> {
  const at = time === undefined ? '' : `&time=${time}`;
  const res = await fetch(`${prom.base}/api/v1/query?query=${encodeURIComponent(expr)}${at}`);
  const body = (await res.json()) as {
    status: string;
    data: {
      result: { histogram?: [number, NativeSample]; histograms?: [number, NativeSample][] }[];
    };
  };
  if (body.status !== 'success') throw new Error(`query ${expr} failed`);
  return body.data.result.map((r) => r.histograms ?? (r.histogram ? [r.histogram] : []));
}

/** The value of a query that must match exactly one series, or undefined for none. */
async function one(prom: ReadyServer, expr: string, time?: number): Promise<number | undefined> {
  const result = await query(prom, expr, time);
  if (result.length > 1) throw new Error(`${expr} matched ${result.length} series`);
  return result.length === 0 ? undefined : Number(result[0]!.value[1]);
}

async function until(what: string, ms: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not happen in ${ms} ms${last ? `: ${String(last)}` : ''}`);
}

/** Waits for two more scrapes of the target (its lastScrape changes twice). */
async function twoMoreScrapes(prom: ReadyServer): Promise<void> {
  const lastScrape = async (): Promise<string> => {
    const body = (await (await fetch(`${prom.base}/api/v1/targets`)).json()) as {
      data: { activeTargets: { lastScrape: string; health: string }[] };
    };
    const target = body.data.activeTargets[0];
    return target?.health === 'up' ? target.lastScrape : '';
  };
  for (let i = 0; i < 2; i++) {
    const before = await lastScrape();
    await until('a scrape', 20_000, async () => (await lastScrape()) !== before);
  }
}

/** The native bucket (lower, upper] of `value` at schema 3: 2^((k-1)/8) < value <= 2^(k/8). */
function schema3Bucket(value: number): [number, number] {
  const k = Math.ceil(Math.log2(value) * 8);
  return [2 ** ((k - 1) / 8), 2 ** (k / 8)];
}

/** histogram_quantile's linear interpolation inside the bucket (Prometheus 2.42 quantile.go). */
function expectedQuantile(value: number, fractionOfBucket: number): number {
  const [lower, upper] = schema3Bucket(value);
  return lower + (upper - lower) * fractionOfBucket;
}

/** The expression of one of deploy/'s recording rules, unchanged. */
function deployRule(file: string, record: string): string {
  const rules = parse(
    readFileSync(join(__dirname, '..', 'deploy', 'prometheus', 'rules', file), 'utf8'),
  ) as {
    groups: { rules: { record?: string; expr: string; labels?: Record<string, string> }[] }[];
  };
  const rule = rules.groups
    .flatMap((g) => g.rules)
    .find((r) => r.record === record && r.labels?.slo === 'http-latency');
  if (!rule) throw new Error(`no rule ${record} in ${file}`);
  return rule.expr.trim();
}

describeIf(available)('native histograms through the real Prometheus 2.42', () => {
  let app: RunningApp;
  let dir: string;
  const proms: Record<'native' | 'classic', ReadyServer> = {} as never;

  beforeAll(async () => {
    app = await startApp(join(__dirname, 'fixtures', 'native-histogram-app.cjs'), {
      env: { BIZMON_NATIVE_HISTOGRAMS: 'true' },
    });
    const work = (): Promise<unknown> =>
      fetch(`http://127.0.0.1:${app.port}/work`).then((r) => r.text());
    // One request first: Prometheus must see the /work series before the rest arrive, or
    // rate() would have no increase to see.
    await work();
    dir = mkdtempSync(join(tmpdir(), 'bizmon-native-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n' +
        `  - job_name: bizmon\n    static_configs: [{ targets: ['127.0.0.1:${app.exporterPort}'] }]\n`,
    );
    for (const which of ['native', 'classic'] as const) {
      proms[which] = await startReadyServer(`Prometheus (${which})`, 'prometheus', (port) => [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, which)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        ...(which === 'native' ? ['--enable-feature=native-histograms'] : []),
      ]);
    }
    for (const prom of Object.values(proms)) await twoMoreScrapes(prom);

    for (let i = 0; i < 25; i++) await work();
    await fetch(`http://127.0.0.1:${app.port}/observe?v=0.2&n=60`).then((r) => r.text());
    await fetch(`http://127.0.0.1:${app.port}/observe?v=3&n=40`).then((r) => r.text());
    for (const prom of Object.values(proms)) await twoMoreScrapes(prom);
  }, 120_000);

  afterAll(async () => {
    for (const prom of Object.values(proms)) await prom.stop();
    await app?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const work = '{job="bizmon",method="GET",endpoint="/work"}';
  const known = '{job="bizmon",method="GET",endpoint="/known"}';

  test('with the feature: counts from the native histogram, exact', async () => {
    const prom = proms.native;
    expect(await one(prom, `histogram_count(http_request_duration_seconds${work})`)).toBe(26);
    expect(await one(prom, `histogram_count(http_request_duration_seconds${known})`)).toBe(100);
    expect(await one(prom, `histogram_sum(http_request_duration_seconds${known})`)).toBeCloseTo(
      60 * 0.2 + 40 * 3,
      9,
    );
    expect(await one(prom, `http_requests_total${work}`)).toBe(26);
  });

  test('with the feature: histogram_count(rate(http_request_duration_seconds[1m])) is the request rate', async () => {
    const prom = proms.native;
    const now = Date.now() / 1000;
    // Every series of the family, as the issue asks the query; the /work one is checked.
    const all = await query(prom, 'histogram_count(rate(http_request_duration_seconds[1m]))', now);
    const byEndpoint = new Map(all.map((s) => [s.metric.endpoint, Number(s.value[1])]));
    expect(byEndpoint.get('/known')).toBeGreaterThan(0);
    // The raw native samples of the window: the 25 requests between its first and last.
    const [raw] = await rawHistograms(prom, `http_request_duration_seconds${work}[1m]`, now);
    const counts = raw!.map(([, h]) => Number(h.count));
    expect(counts[0]).toBe(1);
    expect(counts[counts.length - 1]).toBe(26);
    // rate() is that increase over the window, extrapolated as Prometheus 2.42's
    // extrapolatedRate does for a histogram (no zero-point clamp, unlike a counter's).
    const times = raw!.map(([t]) => Math.round(t * 1000));
    const first = times[0]!;
    const last = times[times.length - 1]!;
    const sampled = (last - first) / 1000;
    const average = sampled / (times.length - 1);
    const toStart = (first - (now * 1000 - 60_000)) / 1000;
    const toEnd = (now * 1000 - last) / 1000;
    const threshold = average * 1.1;
    const interval =
      sampled +
      (toStart < threshold ? toStart : average / 2) +
      (toEnd < threshold ? toEnd : average / 2);
    expect(byEndpoint.get('/work')).toBeCloseTo((25 * interval) / sampled / 60, 9);
  });

  test('with the feature: the native buckets Prometheus stored are those of schema 3', async () => {
    const [raw] = await rawHistograms(proms.native, `http_request_duration_seconds${known}`);
    const [, h] = raw![0]!;
    expect(h.count).toBe('100');
    // [boundary rule, lower, upper, count]; rule 0: (lower, upper] for positive buckets.
    const buckets = h.buckets!.map(([rule, lower, upper, count]) => [
      rule,
      Number(lower),
      Number(upper),
      Number(count),
    ]);
    expect(buckets).toHaveLength(2);
    const expected = [
      [0, ...schema3Bucket(0.2), 60],
      [0, ...schema3Bucket(3), 40],
    ];
    buckets.forEach((b, i) => {
      expect(b[0]).toBe(expected[i]![0]);
      expect(b[1]).toBeCloseTo(expected[i]![1]!, 12);
      expect(b[2]).toBeCloseTo(expected[i]![2]!, 12);
      expect(b[3]).toBe(expected[i]![3]);
    });
  });

  test('with the feature: histogram_quantile over the rate interpolates inside the native bucket', async () => {
    const prom = proms.native;
    const q = (phi: number): Promise<number | undefined> =>
      one(prom, `histogram_quantile(${phi}, rate(http_request_duration_seconds${known}[1m]))`);
    // 60 values of 0.2 then 40 of 3: the median is 50/60 into 0.2's bucket (0.1929, 0.2102],
    // the 90th percentile 30/40 into 3's bucket (2.828, 3.084]. Classic buckets would say 0.225
    // (0.1 to 0.25) and 2.875 (2.5 to 5).
    expect(await q(0.5)).toBeCloseTo(expectedQuantile(0.2, 50 / 60), 9);
    expect(await q(0.9)).toBeCloseTo(expectedQuantile(3, 30 / 40), 9);
  });

  test('with the feature, Prometheus 2.42 keeps no classic series of a native family, so deploy/ rules find nothing', async () => {
    const prom = proms.native;
    expect(await query(prom, `http_request_duration_seconds_bucket${known}`)).toEqual([]);
    expect(await query(prom, `http_request_duration_seconds_count${known}`)).toEqual([]);
    expect(await query(prom, `http_request_duration_seconds_sum${known}`)).toEqual([]);
    expect(
      await query(prom, deployRule('bizmon-slo.rules.yml', 'slo:sli_error:ratio_rate5m')),
    ).toEqual([]);
  });

  test('without the feature, the same app serves classic buckets and deploy/ rules work unchanged', async () => {
    const prom = proms.classic;
    expect(await one(prom, `http_request_duration_seconds_count${work}`)).toBe(26);
    expect(await one(prom, `http_request_duration_seconds_count${known}`)).toBe(100);
    const buckets = await query(prom, `http_request_duration_seconds_bucket${known}`);
    const byLe = Object.fromEntries(buckets.map((s) => [s.metric.le, Number(s.value[1])]));
    expect(byLe).toEqual({
      '0.01': 0,
      '0.05': 0,
      '0.1': 0,
      '0.25': 60,
      '0.5': 60,
      '1': 60,
      '2.5': 60,
      '5': 100,
      '10': 100,
      '+Inf': 100,
    });
    // No native histogram here: histogram_count finds no histogram sample.
    expect(await query(prom, `histogram_count(http_request_duration_seconds${known})`)).toEqual([]);
    // deploy/'s latency SLI: the 40 observations of 3 s are the only ones over 2.5 s.
    const sli = await one(prom, deployRule('bizmon-slo.rules.yml', 'slo:sli_error:ratio_rate5m'));
    expect(sli).toBeGreaterThan(0);
    expect(sli).toBeLessThan(1);
  });
});
