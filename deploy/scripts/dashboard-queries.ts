import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One PromQL query of a dashboard, named `<dashboard uid> / <panel title or $variable>`. */
export interface DashboardQuery {
  readonly where: string;
  readonly expr: string;
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query?: unknown }[] };
}

/**
 * Every query of the dashboards in `dir` (deploy/grafana/dashboards): each panel's targets,
 * collapsed rows' panels included, and the selector of each `label_values(<selector>, <label>)`
 * variable, which Grafana sends to Prometheus as a series query.
 */
export function dashboardQueries(dir: string): DashboardQuery[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((file) => {
      const d = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard;
      const panels = d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
      return [
        ...panels.flatMap((p) =>
          (p.targets ?? []).map((t) => ({ where: `${d.uid} / ${p.title}`, expr: t.expr ?? '' })),
        ),
        ...d.templating.list.flatMap((v) => {
          const m = /^label_values\((.*),\s*\w+\)$/.exec(String(v.query ?? ''));
          return m ? [{ where: `${d.uid} / $${v.name}`, expr: m[1]! }] : [];
        }),
      ];
    });
}

/**
 * A dashboard query as Grafana sends it for one job and instance: `$__rate_interval` (and
 * `$__interval`, `$__range`) become `rateInterval`, `$job` and `$instance` the given values.
 * The dashboards match both with `=~`, so a regular expression such as `.*` works too.
 */
export function renderDashboardQuery(
  expr: string,
  values: { rateInterval: string; job: string; instance: string },
): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, values.rateInterval)
    .replace(/\$\{?job\}?/g, values.job)
    .replace(/\$\{?instance\}?/g, values.instance);
}
