/**
 * deploy/config.ts is the one place for thresholds, `for` durations, teams and the runbook
 * base URL: the generated threshold rules take each number from it once (expression and
 * description), every runbook link is built from the base URL and names a shipped runbook,
 * and every team has its Alertmanager route.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { config, runbookUrl, TEAMS } from '../deploy/config';
import { alertsRulesFile } from '../deploy/alerts/thresholds';

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
        `> ${t.DatabaseDeadlocks.maxIn5m}`,
        `(threshold ${t.DatabaseDeadlocks.maxIn5m})`,
      ],
      [
        'PaymentFailureSpike',
        `>= ${t.PaymentFailureSpike.minIn5m}`,
        `(threshold ${t.PaymentFailureSpike.minIn5m})`,
      ],
      [
        'FileUploadFailureSpike',
        `>= ${t.FileUploadFailureSpike.minIn5m}`,
        `(threshold ${t.FileUploadFailureSpike.minIn5m})`,
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
