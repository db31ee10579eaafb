/**
 * deploy/grafana: the committed dashboards are exactly what the TypeScript generator builds,
 * they cover the seed's business panels and every catalog metric, and every query is PromQL
 * that a real Prometheus accepts, reading only catalog names, recording rules and `up`.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { catalog } from '@bizmon/core';
import { buildDashboards } from '../deploy/grafana/src/dashboards';
import { dashboardQueries, renderDashboardQuery } from '../deploy/scripts/dashboard-queries';
import { analysePromql, expandGrafanaVariables } from '../deploy/scripts/promql';
import { deployDir, staleFiles } from '../deploy/scripts/generate';
import { findTool } from '../deploy/scripts/tools';
import { startReadyServer, type ReadyServer } from './support/prometheus-process';

const DEPLOY = deployDir();

interface Target {
  expr?: string;
  datasource?: { uid?: string };
}
interface Panel {
  type: string;
  title?: string;
  targets?: Target[];
  panels?: Panel[];
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query?: string | Record<string, unknown> }[] };
}

const committed: { file: string; dashboard: Dashboard }[] = readdirSync(
  join(DEPLOY, 'grafana', 'dashboards'),
)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({
    file,
    dashboard: JSON.parse(
      readFileSync(join(DEPLOY, 'grafana', 'dashboards', file), 'utf8'),
    ) as Dashboard,
  }));

function panelsOf(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every query: panel targets and variable queries. */
const queries = dashboardQueries(join(DEPLOY, 'grafana', 'dashboards'));

const recorded = readdirSync(join(DEPLOY, 'prometheus', 'rules'))
  .filter((f) => f.endsWith('.yml'))
  .flatMap((f) =>
    (
      parse(readFileSync(join(DEPLOY, 'prometheus', 'rules', f), 'utf8')) as {
        groups: { rules: { record?: string }[] }[];
      }
    ).groups
      .flatMap((g) => g.rules)
      .flatMap((r) => (r.record === undefined ? [] : [r.record])),
  );
const seriesOfCatalog = new Map<string, string>();
for (const spec of Object.values(catalog)) {
  if (spec.type === 'histogram')
    for (const s of ['_bucket', '_sum', '_count']) seriesOfCatalog.set(spec.name + s, spec.name);
  else seriesOfCatalog.set(spec.name, spec.name);
}

describe('deploy/grafana dashboards', () => {
  it('are exactly what the generator builds (npm run deploy:generate)', () => {
    expect(staleFiles(DEPLOY)).toEqual([]);
    expect(committed.map((c) => c.file).sort()).toEqual(
      buildDashboards()
        .map((d) => d.file)
        .sort(),
    );
  });

  it('have stable, unique uids matching their file names, and the job/instance variables', () => {
    const uids = committed.map((c) => c.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { file, dashboard } of committed) {
      expect(file).toBe(`${dashboard.uid}.json`);
      expect(dashboard.uid).toMatch(/^bizmon-[a-z-]+$/);
      expect(dashboard.templating.list.map((v) => v.name)).toEqual([
        'datasource',
        'job',
        'instance',
      ]);
      for (const p of panelsOf(dashboard).filter((p) => p.type !== 'row')) {
        expect(p.datasource?.uid).toBe('${datasource}');
        expect(p.targets?.length).toBeGreaterThan(0);
      }
    }
  });

  it('cover every seed panel and metric area', () => {
    const byUid = new Map(committed.map((c) => [c.dashboard.uid, c.dashboard]));
    expect([...byUid.keys()].sort()).toEqual([
      'bizmon-ai-services',
      'bizmon-business',
      'bizmon-cache',
      'bizmon-database',
      'bizmon-errors-security',
      'bizmon-http',
      'bizmon-slo',
      'bizmon-users-credits',
    ]);
    // SEED.md 4.5: live active users (stat), AI task success rate (stat), usage per AI
    // service (pie), API response time p95 and p50 (time series), cache hit rate (time series).
    const business = panelsOf(byUid.get('bizmon-business')!);
    const find = (type: string, pattern: RegExp) =>
      business.filter(
        (p) => p.type === type && (p.targets ?? []).some((t) => pattern.test(t.expr ?? '')),
      );
    expect(find('stat', /active_users_current/)).toHaveLength(1);
    expect(find('stat', /ai_tasks_total\{[^}]*status="success"/)).toHaveLength(1);
    expect(find('piechart', /sum by \(service\)/)).toHaveLength(1);
    const latency = find('timeseries', /histogram_quantile\(0\.95, sum by \(le\)/);
    expect(latency).toHaveLength(1);
    expect(
      latency[0]!.targets!.some((t) =>
        /histogram_quantile\(0\.5, sum by \(le\)/.test(t.expr ?? ''),
      ),
    ).toBe(true);
    expect(find('timeseries', /cache_hit_rate|result="hit"/)).toHaveLength(1);
  });

  it('read only catalog metrics, recording rules and up, and use every catalog metric', () => {
    const used = new Set<string>();
    for (const { where, expr } of queries) {
      const { metricNames, errors } = analysePromql(expandGrafanaVariables(expr));
      expect({ where, errors }).toEqual({ where, errors: [] });
      for (const name of metricNames) {
        const known = seriesOfCatalog.has(name) || recorded.includes(name) || name === 'up';
        expect({ where, name, known }).toEqual({ where, name, known: true });
        const metric = seriesOfCatalog.get(name);
        if (metric !== undefined) used.add(metric);
      }
    }
    expect(Object.keys(catalog).filter((m) => !used.has(m))).toEqual([]);
  });
});

const prometheusBin = findTool('prometheus');
(prometheusBin === undefined ? describe.skip : describe)(
  'dashboard queries on a real Prometheus',
  () => {
    let server: ReadyServer | undefined;
    let base = '';
    let dir = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'bizmon-deploy-prom-'));
      writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n');
      server = await startReadyServer('Prometheus', prometheusBin!, (port) => [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ]);
      base = server.base;
    }, 30000);

    afterAll(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('accepts every query', async () => {
      const failures: string[] = [];
      await Promise.all(
        queries.map(async ({ where, expr }) => {
          const promql = renderDashboardQuery(expr, {
            rateInterval: '1m',
            job: '.*',
            instance: '.*',
          });
          const res = await fetch(`${base}/api/v1/query`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ query: promql }).toString(),
          });
          const body = (await res.json()) as { status: string; error?: string };
          if (body.status !== 'success')
            failures.push(`${where}: ${body.error ?? res.status} in ${promql}`);
        }),
      );
      expect(failures).toEqual([]);
      expect(queries.length).toBeGreaterThan(40);
    });
  },
);
