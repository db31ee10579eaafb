import { catalog, catalogSpecs, type MetricSpec } from '@bizmon/core';
import type { AnyFamilyData } from '../../../src/model/registry';
import {
  foldInto,
  mergeContributions,
  validSnapshot,
  type Contribution,
  type Snapshot,
} from '../../../src/export/cluster/series';

const specs = new Map<string, MetricSpec>(catalogSpecs.map((s) => [s.name, s]));
const T = 1_700_000_000_000;

/** A merged family's series as `labels → value` (histograms: count and buckets). */
function seriesOf(families: AnyFamilyData[], name: string): Record<string, unknown> {
  const family = families.find((f) => f.spec.name === name)!;
  const out: Record<string, unknown> = {};
  family.forEach((s) => {
    const key = s.labelValues.join(',');
    const h = s as { count?: number; counts?: readonly number[]; value?: number };
    out[key] =
      family.spec.type === 'histogram' ? { count: h.count, counts: [...h.counts!] } : h.value;
  });
  return out;
}

describe('validSnapshot keeps only what the catalog allows', () => {
  test('drops unknown metrics, wrong types and malformed series; keeps the rest', () => {
    const raw = [
      ['not_a_metric', 'counter', [[[], 1, T]]],
      ['http_requests_total', 'gauge', [[['GET', '/', '200', 'a'], 1]]],
      [
        'http_requests_total',
        'counter',
        [
          [['GET', '/', '200', 'anonymous'], 3, T],
          [['GET', '/', '200'], 3, T], // wrong arity
          [['GET', '/', '200', ''], 3, T], // empty label value
          [['GET', '/', '200', 'x'.repeat(257)], 3, T], // too long
          [['GET', '/', '200', 7], 3, T], // not a string
          [['GET', '/', '500', 'anonymous'], -1, T], // negative count
          [['GET', '/', '500', 'anonymous'], Infinity, T],
        ],
      ],
      [
        'http_request_duration_seconds',
        'histogram',
        [
          [['GET', '/'], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.005, 1, T],
          [['GET', '/x'], [1, 0], 0.005, 1, T], // wrong bucket count
        ],
      ],
      'garbage',
    ];
    expect(validSnapshot(raw, specs, 100)).toEqual([
      ['http_requests_total', 'counter', [[['GET', '/', '200', 'anonymous'], 3, T]]],
      [
        'http_request_duration_seconds',
        'histogram',
        [[['GET', '/'], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.005, 1, T]],
      ],
    ]);
    expect(validSnapshot({ not: 'an array' }, specs, 100)).toEqual([]);
  });

  test('keeps at most `limit` series per family', () => {
    const series = Array.from({ length: 10 }, (_, i) => [[`r${i}`], 1, T]);
    const kept = validSnapshot([['file_upload_failures_total', 'counter', series]], specs, 4);
    expect(kept[0]![2]).toHaveLength(4);
  });
});

describe('mergeContributions applies each metric’s cluster rule', () => {
  const req = (role: string, n: number): [string[], number, number] => [
    ['GET', '/a', '200', role],
    n,
    T,
  ];
  const worker = (name: string, live: boolean, snapshot: Snapshot): Contribution => ({
    worker: name,
    live,
    snapshot,
  });
  const contributions = [
    worker('1', true, [
      ['http_requests_total', 'counter', [req('anonymous', 5), req('admin', 1)]],
      [
        'http_request_duration_seconds',
        'histogram',
        [[['GET', '/a'], [2, 1, 0, 0, 0, 0, 0, 0, 0, 0], 0.06, 3, T]],
      ],
      ['http_concurrent_connections', 'gauge', [[[], 2]]],
      ['active_users_current', 'gauge', [[[], 10]]],
    ]),
    worker('2', true, [
      ['http_requests_total', 'counter', [req('anonymous', 7)]],
      [
        'http_request_duration_seconds',
        'histogram',
        [[['GET', '/a'], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 20, 1, T - 5]],
      ],
      ['http_concurrent_connections', 'gauge', [[[], 3]]],
      ['active_users_current', 'gauge', [[[], 4]]],
    ]),
    // A worker that died: its counts stay, its gauges go.
    worker('3', false, [
      ['http_requests_total', 'counter', [req('anonymous', 100)]],
      ['http_concurrent_connections', 'gauge', [[[], 50]]],
      ['active_users_current', 'gauge', [[[], 99]]],
    ]),
  ];
  const merged = mergeContributions(contributions, 2000);

  test('counters are summed per label set, dead workers included', () => {
    expect(seriesOf(merged, 'http_requests_total')).toEqual({
      'GET,/a,200,anonymous': 112,
      'GET,/a,200,admin': 1,
    });
  });

  test('histograms are summed bucket by bucket', () => {
    expect(seriesOf(merged, 'http_request_duration_seconds')).toEqual({
      'GET,/a': { count: 4, counts: [2, 1, 0, 0, 0, 0, 0, 0, 0, 1] },
    });
  });

  test('gauges are per live worker, with a worker label, unless the catalog sums them', () => {
    expect(seriesOf(merged, 'active_users_current')).toEqual({ '1': 10, '2': 4 });
    const family = merged.find((f) => f.spec.name === 'active_users_current')!;
    expect(family.spec.labelNames).toEqual(['worker']);
    expect(catalog.http_concurrent_connections.cluster).toBe('sum');
    expect(seriesOf(merged, 'http_concurrent_connections')).toEqual({ '': 5 });
  });

  test('families come in catalog order, every one of them', () => {
    const names = merged.map((f) => f.spec.name);
    expect(names.indexOf('http_requests_total')).toBeLessThan(
      names.indexOf('bizmon_dropped_measurements_total'),
    );
    expect(names).toContain('db_deadlocks_total');
  });

  test('a merged family holds at most the cardinality limit, the rest in the overflow series', () => {
    const many = (w: string, from: number): Contribution =>
      worker(w, true, [
        [
          'file_upload_failures_total',
          'counter',
          Array.from(
            { length: 3 },
            (_, i) => [[`r${from + i}`], 1, T] as [string[], number, number],
          ),
        ],
      ]);
    const capped = mergeContributions([many('1', 0), many('2', 3)], 4);
    expect(seriesOf(capped, 'file_upload_failures_total')).toEqual({
      r0: 1,
      r1: 1,
      r2: 1,
      __overflow__: 3,
    });
  });
});

test('foldInto adds a dead worker’s counters and histograms into the store and drops its gauges', () => {
  let store: Snapshot = [];
  const dead: Snapshot = [
    ['new_users_registered_total', 'counter', [[[], 2, T]]],
    ['active_users_current', 'gauge', [[[], 9]]],
  ];
  store = foldInto(store, dead, 2000);
  store = foldInto(store, dead, 2000);
  expect(store).toEqual([['new_users_registered_total', 'counter', [[[], 4, T]]]]);
});
