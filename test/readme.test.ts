import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogSpecs } from '@bizmon/core';
import { clusterAggregation } from '@bizmon/core/internal';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

test("the README's metric table is the catalog, row for row", () => {
  const rows = readme
    .split('\n')
    .filter((line) => /^\| `[a-z_][a-z0-9_]*` \| (counter|gauge|histogram) \|/.test(line))
    .map((line) => line.split('|').map((cell) => cell.trim()));
  const table = rows.map(([, name, type, labels, buckets]) => ({
    name: name!.replace(/`/g, ''),
    type,
    labels: labels === '—' ? [] : labels!.split(', ').map((l) => l.replace(/`/g, '')),
    buckets: buckets === '—' ? undefined : buckets!.split(', ').map(Number),
  }));
  expect(table).toEqual(
    catalogSpecs.map((s) => ({
      name: s.name,
      type: s.type,
      labels: [...s.labelNames],
      buckets: s.buckets ? [...s.buckets] : undefined,
    })),
  );
});

test('the README documents every configuration variable the code reads', () => {
  const source = readFileSync(
    join(__dirname, '..', 'packages', 'core', 'src', 'base', 'config.ts'),
    'utf8',
  );
  const variables = [...source.matchAll(/^\s{2}((?:OTEL|BIZMON)_[A-Z_]+): \{/gm)].map((m) => m[1]);
  expect(variables.length).toBeGreaterThan(10);
  for (const name of variables) expect(readme).toContain(`| \`${name}\` |`);
});

test("the README's list of gauges summed over a cluster's workers is the catalog's", () => {
  const section = readme.slice(
    readme.indexOf('### Clustered services'),
    readme.indexOf('## Metrics'),
  );
  const listed = /except those the catalog sums:\s*([^(]*)\(/.exec(section)![1]!;
  const names = [...listed.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
  const summedGauges = catalogSpecs
    .filter((s) => s.type === 'gauge' && clusterAggregation(s) === 'sum')
    .map((s) => s.name);
  expect(names).toEqual(summedGauges);
  // Counters and histograms are always summed.
  expect(catalogSpecs.filter((s) => s.type !== 'gauge' && clusterAggregation(s) !== 'sum')).toEqual(
    [],
  );
});
