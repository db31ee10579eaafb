/**
 * deploy/config.ts is the one place for thresholds, `for` durations, teams and the runbook
 * base URL: the generated threshold rules take each number from it once (expression and
 * description), every runbook link is built from the base URL and names a shipped runbook,
 * and every team has its Alertmanager route.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { config, runbookUrl, TEAMS } from '../deploy/config';
import { alertmanagerFile } from '../deploy/alerts/alertmanager';
import { handWrittenNumbers, perturbed, spelledNumbers } from '../deploy/alerts/handwritten';
import { runbookFiles } from '../deploy/alerts/runbooks';
import { alertsRulesFile } from '../deploy/alerts/thresholds';
import { slos } from '../deploy/slo/specs';

const DEPLOY = join(__dirname, '..', 'deploy');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules = (parse(alertsRulesFile()) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const rule = (name: string) => rules.find((r) => r.alert === name)!;

const DEPLOY_DIR = DEPLOY;

describe('runbooks and descriptions take every number from the config', () => {
  it('no config number is written by hand in a description, summary or runbook (as --check)', () => {
    expect(handWrittenNumbers(DEPLOY_DIR)).toEqual([]);
  });

  it('catches a threshold written by hand in a runbook template', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bizmon-deploy-runbooks-'));
    try {
      cpSync(join(DEPLOY_DIR, 'runbooks', 'src'), join(dir, 'runbooks', 'src'), {
        recursive: true,
      });
      const file = join(dir, 'runbooks', 'src', 'HighErrorRate.md');
      const template = readFileSync(file, 'utf8');
      expect(template).toContain('{{pct errorRatio}}');
      writeFileSync(
        file,
        template
          .replace('{{pct errorRatio}}', '5 %')
          .replace('for {{human for}}', 'for 30 seconds'),
      );
      expect(handWrittenNumbers(dir)).toEqual([
        'runbooks/src/HighErrorRate.md: "5 %"',
        'runbooks/src/HighErrorRate.md: "30 seconds"',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds spelled-out numbers in prose and comparisons, not in list markers or query windows', () => {
    const values = { numbers: new Set([0.05, 5]), durations: new Set([30, 60]) };
    expect(spelledNumbers('1. More than 5 % failed (threshold 5%), for a minute.', values)).toEqual(
      ['5 %', '5%', 'a minute'],
    );
    expect(spelledNumbers('Compare `rate(x[5m]) > 0.05` and `sum(y[1m])`; 5xx.', values)).toEqual([
      '> 0.05',
    ]);
  });

  it('renders the runbooks from the config: another threshold, another text', () => {
    const other = perturbed(config);
    const text = runbookFiles(DEPLOY_DIR, other).get('HighErrorRate.md')!;
    const ratio = other.thresholds.HighErrorRate.errorRatio;
    expect(text).toContain(`More than ${Number((ratio * 100).toPrecision(10))} %`);
    expect(runbookFiles(DEPLOY_DIR).get('HighErrorRate.md')).toBe(
      readFileSync(join(DEPLOY_DIR, 'runbooks', 'HighErrorRate.md'), 'utf8'),
    );
  });
});

describe('alertmanager.yml from the config', () => {
  interface Route {
    matchers: string[];
    receiver?: string;
    group_by?: string[];
    group_wait?: string;
    repeat_interval?: string;
    routes?: Route[];
  }
  const am = parse(readFileSync(join(DEPLOY_DIR, 'alertmanager', 'alertmanager.yml'), 'utf8')) as {
    route: Route & { routes: Route[] };
    inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
    receivers: {
      name: string;
      webhook_configs: { url: string; http_config: { authorization: unknown } }[];
    }[];
  };

  it('is the generated file', () => {
    expect(alertmanagerFile(slos)).toBe(
      readFileSync(join(DEPLOY_DIR, 'alertmanager', 'alertmanager.yml'), 'utf8'),
    );
  });

  it('routes each team of the config to its receiver, with the timing of each severity', () => {
    for (const team of TEAMS) {
      const route = am.route.routes.find((r) => r.matchers.includes(`team="${team}"`))!;
      expect(route.receiver).toBe(config.alertmanager.teams[team].receiver);
      const critical = route.routes!.find((r) => r.matchers.includes('severity="critical"'))!;
      expect(critical.group_by).toEqual([...config.alertmanager.pageGroupBy]);
      expect(critical.group_wait).toBe(config.alertmanager.timing.critical.groupWait);
      expect(critical.repeat_interval).toBe(config.alertmanager.timing.critical.repeatInterval);
    }
    for (const r of am.receivers) {
      expect(r.webhook_configs).toEqual([
        {
          url: config.alertmanager.bridgeUrl,
          send_resolved: true,
          max_alerts: 0,
          http_config: {
            authorization: {
              type: 'Bearer',
              credentials_file: config.alertmanager.bridgeTokenFile,
            },
          },
        },
      ]);
    }
  });

  it('lets each SLO page inhibit exactly the threshold alerts it supersedes', () => {
    const fromSlos = am.inhibit_rules.filter((r) =>
      r.source_matchers.includes('alertname="ErrorBudgetBurn"'),
    );
    expect(fromSlos).toEqual(
      slos
        .filter((s) => s.supersedes.length > 0)
        .map((s) => ({
          source_matchers: [
            'alertname="ErrorBudgetBurn"',
            'severity="critical"',
            `slo="${s.name}"`,
          ],
          target_matchers: [`alertname=~"${s.supersedes.join('|')}"`],
          equal: ['team', ...s.sli.by],
        })),
    );
    // Only threshold alerts that exist, and never an SLO alert inhibiting itself.
    for (const s of slos) for (const a of s.supersedes) expect(rule(a)).toBeDefined();
  });
});

describe('deploy/config.ts', () => {
  it('gives every threshold alert its for duration and runbook link', () => {
    const t = config.thresholds as Record<string, { for?: string }>;
    for (const r of rules) {
      expect({ alert: r.alert, for: r.for }).toEqual({ alert: r.alert, for: t[r.alert]?.for });
      expect(r.annotations.runbook_url).toBe(runbookUrl(r.alert));
      expect(existsSync(join(DEPLOY, 'runbooks', `${r.alert}.md`))).toBe(true);
    }
    expect(config.runbookBaseUrl).toBe('deploy/runbooks');
  });

  it('writes each threshold into both the expression and the description', () => {
    const t = config.thresholds;
    const cases: [string, string, string][] = [
      [
        'HighErrorRate',
        `) > ${t.HighErrorRate.errorRatio}\n`,
        `(threshold ${t.HighErrorRate.errorRatio * 100}%)`,
      ],
      [
        'AIServiceHighFailureRate',
        `) > ${t.AIServiceHighFailureRate.failedRatio}\n`,
        `(threshold ${t.AIServiceHighFailureRate.failedRatio * 100}%)`,
      ],
      [
        'SlowResponseTime',
        `[5m]))) > ${t.SlowResponseTime.p95Seconds}\n`,
        `(threshold ${t.SlowResponseTime.p95Seconds}s)`,
      ],
      [
        'LowCacheHitRate',
        `) < ${t.LowCacheHitRate.hitRatio}\n`,
        `(threshold ${t.LowCacheHitRate.hitRatio * 100}%)`,
      ],
      [
        'RedisHighMemoryUsage',
        `> ${t.RedisHighMemoryUsage.memoryRatio}`,
        `(threshold ${t.RedisHighMemoryUsage.memoryRatio * 100}%)`,
      ],
      [
        'DatabaseDeadlocks',
        `> ${t.DatabaseDeadlocks.max}`,
        `(threshold ${t.DatabaseDeadlocks.max})`,
      ],
      [
        'PaymentFailureSpike',
        `>= ${t.PaymentFailureSpike.min}`,
        `(threshold ${t.PaymentFailureSpike.min})`,
      ],
      [
        'FileUploadFailureSpike',
        `>= ${t.FileUploadFailureSpike.min}`,
        `(threshold ${t.FileUploadFailureSpike.min})`,
      ],
      [
        'HighLoginFailureRate',
        `> ${t.HighLoginFailureRate.perSecond}`,
        `(threshold ${t.HighLoginFailureRate.perSecond}/s)`,
      ],
      [
        'SlowQuerySurge',
        `> ${t.SlowQuerySurge.factor} * (`,
        `over ${t.SlowQuerySurge.factor} times`,
      ],
      [
        'UnusualUserActivity',
        `> ${t.UnusualUserActivity.factor} * max`,
        `over ${t.UnusualUserActivity.factor} times`,
      ],
    ];
    for (const [name, inExpr, inDescription] of cases) {
      expect({ name, expr: rule(name).expr }).toEqual({
        name,
        expr: expect.stringContaining(inExpr),
      });
      expect({ name, description: rule(name).annotations.description }).toEqual({
        name,
        description: expect.stringContaining(inDescription),
      });
    }
  });

  it('uses the job selector for the scrape-absence alert', () => {
    expect(rule('MetricsScrapeAbsent').expr).toBe(`absent(up{${config.jobSelector}})\n`);
  });

  it('puts the job selector into every selector of the threshold alerts', () => {
    for (const r of rules) {
      // Every `name{...}` selector (and bare name before `[` or `)`) carries a job matcher.
      const selectors = [...r.expr.matchAll(/\b([a-z_:]+)\{([^}]*)\}/g)];
      expect({ alert: r.alert, selectors: selectors.length > 0 }).toEqual({
        alert: r.alert,
        selectors: true,
      });
      for (const [, name, matchers] of selectors) {
        const ok = [config.jobSelector, config.bridgeJobSelector, config.agentJobSelector].some(
          (j) => matchers!.split(',').includes(j),
        );
        expect({ alert: r.alert, name, ok }).toEqual({ alert: r.alert, name, ok: true });
      }
    }
  });

  it('routes every team to its own Alertmanager receiver, and only those teams', () => {
    const am = parse(readFileSync(join(DEPLOY, 'alertmanager', 'alertmanager.yml'), 'utf8')) as {
      route: { routes: { matchers: string[] }[] };
    };
    const routed = am.route.routes.flatMap((r) =>
      r.matchers.map((m) => /^team="(.*)"$/.exec(m)?.[1]),
    );
    expect([...routed].sort()).toEqual([...TEAMS].sort());
    for (const r of rules) expect(TEAMS).toContain(r.labels.team);
  });
});
