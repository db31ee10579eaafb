/**
 * deploy/slo: the SLO specs generate the multi-window, multi-burn-rate rules the SRE workbook
 * describes, every SLO has the promtool scenarios the policy promises (their pass/fail runs in
 * deploy-rules.test.ts with the other test files), specs that contradict the catalog are
 * refused, and a real Alertmanager turns an SLO page plus a threshold page of the same job into
 * one notification group with the threshold alert inhibited.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { config, runbookUrl } from '../deploy/config';
import { burnPairs, seconds, windows } from '../deploy/slo/policy';
import { SLO_RULES_FILE, type Rule } from '../deploy/slo/rules';
import { HEALTHY_MINUTES } from '../deploy/slo/scenarios';
import { eventsSli, latencySli } from '../deploy/slo/sli';
import { slos } from '../deploy/slo/specs';
import { findTool } from '../deploy/scripts/tools';
import { startReadyServer, type ReadyServer } from './support/prometheus-process';

const run = promisify(execFile);
const DEPLOY = join(__dirname, '..', 'deploy');
const ALERTMANAGER_YML = join(DEPLOY, 'alertmanager', 'alertmanager.yml');

const rules: Rule[] = (
  parse(readFileSync(join(DEPLOY, 'prometheus', 'rules', SLO_RULES_FILE), 'utf8')) as {
    groups: { rules: Rule[] }[];
  }
).groups.flatMap((g) => g.rules);

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: { exp_labels: Record<string, string> }[];
}
interface TestFile {
  evaluation_interval: string;
  tests: { name: string; interval: string; alert_rule_test: AlertTest[] }[];
}
const testFile = (name: string) =>
  parse(
    readFileSync(join(DEPLOY, 'prometheus', 'tests', `slo-${name}.test.yml`), 'utf8'),
  ) as TestFile;

/** Severities of ErrorBudgetBurn expected at `minutes` after the fault in `scenario`. */
function expected(file: TestFile, scenario: RegExp, minutes: number): string[] | undefined {
  const test = file.tests.find((t) => scenario.test(t.name));
  const at = test?.alert_rule_test.find(
    (c) =>
      c.alertname === 'ErrorBudgetBurn' &&
      seconds(c.eval_time) === (HEALTHY_MINUTES + minutes) * 60,
  );
  return at?.exp_alerts.map((a) => a.exp_labels.severity!).sort();
}

describe('SLO specs and generated rules', () => {
  it('has availability, latency and AI success SLOs, 99.9 % over 30 days by default', () => {
    expect(slos.map((s) => s.name)).toEqual(['http-availability', 'http-latency', 'ai-success']);
    expect(config.slo.defaultObjective).toBe(0.999);
    expect(config.slo.defaultPeriod).toBe('30d');
    expect(slos.find((s) => s.name === 'ai-success')?.sli.by).toEqual(['job', 'service']);
  });

  it('uses the workbook burn rates: 14.4 (1h/5m) and 6 (6h/30m) page, 1 (3d/6h) tickets', () => {
    for (const slo of slos.filter((s) => s.period === '30d')) {
      expect(burnPairs(slo).map((p) => [p.severity, p.factor, p.long, p.short])).toEqual([
        ['critical', 14.4, '1h', '5m'],
        ['critical', 6, '6h', '30m'],
        ['warning', 1, '3d', '6h'],
      ]);
    }
  });

  it.each(slos.map((s) => [s.name, s] as const))(
    '%s records the error ratio over every window the alerts read',
    (name) => {
      const mine = rules.filter((r) => r.labels.slo === name);
      const recorded = mine.flatMap((r) => (r.record === undefined ? [] : [r.record]));
      for (const w of ['5m', '30m', '1h', '6h', '3d', '30d']) {
        expect(recorded).toContain(`slo:sli_error:ratio_rate${w}`);
      }
      expect(recorded).toEqual(
        expect.arrayContaining([
          'slo:objective:ratio',
          'slo:error_budget:ratio',
          'slo:period_error_budget_remaining:ratio',
        ]),
      );
      // Every window an alert reads is recorded for this SLO.
      for (const alert of mine.filter((r) => r.alert === 'ErrorBudgetBurn')) {
        for (const [, w] of alert.expr.matchAll(
          /slo:sli_error:ratio_rate(\w+)\{slo="([^"]+)"\}/g,
        )) {
          expect(recorded).toContain(`slo:sli_error:ratio_rate${w}`);
        }
        for (const [, slo] of alert.expr.matchAll(/\{slo="([^"]+)"\}/g)) expect(slo).toBe(name);
      }
    },
  );

  it.each(slos.map((s) => [s.name, s] as const))(
    '%s has a page, a ticket and an absent alert with slo, severity, team and runbook',
    (name, slo) => {
      const mine = rules.filter((r) => r.alert !== undefined && r.labels.slo === name);
      expect(mine.map((r) => [r.alert, r.labels.severity, r.labels.team])).toEqual([
        ['ErrorBudgetBurn', 'critical', slo.team],
        ['ErrorBudgetBurn', 'warning', slo.team],
        ['ErrorBudgetBurnAbsent', 'warning', slo.team],
      ]);
      const [page, ticket, absent] = mine;
      // The two windows of a pair are ANDed with each other and the low-traffic guard; pairs ORed.
      const pair = (short: string, long: string, factor: number, guard: string) =>
        new RegExp(
          `ratio_rate${short}\\{[^}]*\\} / [0-9.]+ > ${factor}\\s+and \\S*ratio_rate${long}\\{[^}]*\\} / [0-9.]+ > ${factor}\\s+and slo:sli_bad_events:increase${guard}\\{[^}]*\\} >= ${config.slo.minBadEvents}`,
        );
      expect(page!.expr).toMatch(pair('5m', '1h', 14.4, '1h'));
      expect(page!.expr).toMatch(pair('30m', '6h', 6, '6h'));
      expect(page!.expr).toMatch(/\)\s*or\s*\(/);
      // Every pair waits for the job to have the history its windows claim.
      const history = `and on (job) max by (job) (system_info{job="bizmon"} offset ${config.slo.minHistory})`;
      expect(page!.expr.split(history)).toHaveLength(3);
      expect(ticket!.expr.split(history)).toHaveLength(2);
      expect(ticket!.expr).toMatch(pair('6h', '3d', 1, '6h'));
      expect(absent!.expr).toBe(`absent(slo:sli_error:ratio_rate5m{slo="${name}",job="bizmon"})\n`);
      expect(absent!.for).toBe(config.slo.absentFor);
      for (const r of mine) expect(r.annotations?.runbook_url).toBe(runbookUrl(r.alert!));
    },
  );

  it('generates the description from the same numbers as the expression', () => {
    const page = rules.find(
      (r) => r.alert === 'ErrorBudgetBurn' && r.labels.severity === 'critical',
    )!;
    expect(page.annotations?.description).toContain('99.9 %');
    expect(page.annotations?.description).toContain('2 % of it within 1h (14.4× over 1h and 5m)');
  });

  it('refuses a latency threshold that is not a bucket bound, and examples that contradict the matchers', () => {
    const example = { method: 'GET', endpoint: '/x' };
    expect(() =>
      latencySli('http_request_duration_seconds', { thresholdSeconds: 0.3, by: ['job'], example }),
    ).toThrow(/not a bucket bound/);
    expect(() =>
      eventsSli('http_requests_total', {
        bad: { status_code: '5..' },
        by: ['job'],
        good: 'ok',
        examples: {
          good: { method: 'GET', endpoint: '/x', status_code: '500', user_role: 'user' },
          bad: { method: 'GET', endpoint: '/x', status_code: '503', user_role: 'user' },
        },
      }),
    ).toThrow(/do not match/);
  });

  it('reads whole-second bounds in both Prometheus 2 and 3 spellings of le', () => {
    const sli = latencySli('http_request_duration_seconds', {
      thresholdSeconds: 1,
      by: ['job'],
      example: { method: 'GET', endpoint: '/x' },
    });
    expect(sli.bad('rate', '5m')).toContain('le=~"1(\\\\.0)?"');
  });

  it('windows are the policy windows, shortest first', () => {
    expect(windows(slos[0]!)).toEqual(['5m', '30m', '1h', '6h', '3d']);
  });
});

describe('SLO dashboard', () => {
  interface Panel {
    type: string;
    title: string;
    targets?: { expr: string }[];
  }
  const board = JSON.parse(
    readFileSync(join(DEPLOY, 'grafana', 'dashboards', 'bizmon-slo.json'), 'utf8'),
  ) as { panels: Panel[] };

  it.each(slos.map((s) => [s.name, s] as const))(
    'shows budget remaining, burn rate per window and the SLI of %s',
    (name, slo) => {
      const exprs = (type: string, title: RegExp) =>
        board.panels
          .filter((p) => p.type === type && title.test(p.title))
          .flatMap((p) => (p.targets ?? []).map((t) => t.expr))
          .filter((e) => e.includes(`slo="${name}"`));
      expect(exprs('stat', /budget remaining/)).toEqual([
        `slo:period_error_budget_remaining:ratio{slo="${name}",job=~"$job"}`,
      ]);
      const burn = exprs('timeseries', /Burn rate/);
      for (const w of windows(slo)) {
        expect(burn).toContain(
          `slo:sli_error:ratio_rate${w}{slo="${name}",job=~"$job"} / on (slo) group_left slo:error_budget:ratio{slo="${name}"}`,
        );
      }
      expect(exprs('timeseries', /SLI/)).toContain(
        `1 - slo:sli_error:ratio_rate5m{slo="${name}",job=~"$job"}`,
      );
    },
  );
});

describe('SLO promtool scenarios (run in deploy-rules.test.ts)', () => {
  it.each(slos.map((s) => [s.name] as const))('%s has every scenario of the policy', (name) => {
    const file = testFile(name);
    expect(file.evaluation_interval).toBe('1m');
    for (const t of file.tests) expect(t.interval).toBe('1m');
    expect(file.tests.length).toBeGreaterThanOrEqual(5);
    // Total outage: quiet before, paging within 5 minutes.
    expect(expected(file, /total outage/, 0)).toEqual([]);
    expect(expected(file, /total outage/, 5)).toContain('critical');
    // Burn 20: no page in the first 15 minutes, a page within the hour.
    expect(expected(file, /burn rate 20/, 15)).not.toContain('critical');
    expect(expected(file, /burn rate 20/, 60)).toContain('critical');
    // Burn 2: a ticket, never a page.
    const burn2 = file.tests.find((t) => /burn rate 2 /.test(t.name))!;
    const sev = burn2.alert_rule_test
      .filter((c) => c.alertname === 'ErrorBudgetBurn')
      .flatMap((c) => c.exp_alerts.map((a) => a.exp_labels.severity));
    expect(sev).toContain('warning');
    expect(sev).not.toContain('critical');
    // The blip and the trickle never page; the trickle never tickets either.
    for (const [scenario, allowed] of [
      [/blip/, ['warning']],
      [/low traffic/, []],
    ] as const) {
      const t = file.tests.find((x) => scenario.test(x.name))!;
      const checks = t.alert_rule_test.filter((c) => c.alertname === 'ErrorBudgetBurn');
      expect(checks.length).toBeGreaterThanOrEqual(5);
      for (const c of checks) {
        expect(c.exp_alerts.map((a) => a.exp_labels.severity)).toEqual(allowed);
      }
    }
    // A job younger than the history guard does not page yet, and pages once it is old enough.
    expect(expected(file, /younger than an hour/, 45)).toEqual([]);
    expect(expected(file, /younger than an hour/, 55)).toContain('critical');
    // The guard only waits for evidence: a quiet service that is down still pages.
    expect(expected(file, /quiet service/, 5)).toEqual([]);
    expect(expected(file, /quiet service/, 15)).toContain('critical');
    // Faults start after hours of healthy history.
    expect(HEALTHY_MINUTES).toBeGreaterThanOrEqual(120);
  });
});

const amtool = findTool('amtool');
(amtool === undefined ? describe.skip : describe)('amtool routes SLO alerts', () => {
  it.each([
    ['platform', 'critical', 'http-availability', 'bridge-platform'],
    ['platform', 'warning', 'http-latency', 'bridge-platform'],
    ['ai_services', 'critical', 'ai-success', 'bridge-ai-services'],
  ])('team=%s severity=%s slo=%s goes to %s', async (team, severity, slo, receiver) => {
    const { stdout } = await run(amtool!, [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_YML}`,
      'alertname=ErrorBudgetBurn',
      `team=${team}`,
      `severity=${severity}`,
      `slo=${slo}`,
      'job=bizmon',
    ]);
    expect(stdout.trim()).toBe(receiver);
  });
});

interface ApiAlert {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy: string[] };
}
interface ApiGroup {
  labels: Record<string, string>;
  alerts: ApiAlert[];
}

const alertmanagerBin = findTool('prometheus-alertmanager') ?? findTool('alertmanager');
(alertmanagerBin === undefined ? describe.skip : describe)(
  'one incident is one page on a real Alertmanager',
  () => {
    let server: ReadyServer | undefined;
    let base = '';
    let dir = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'bizmon-deploy-am-'));
      writeFileSync(join(dir, 'bridge-token'), 'test-token\n');
      // The shipped config, with the token file in the temp dir; the bridge is never called
      // (no notification is due before the alerts are read back).
      writeFileSync(
        join(dir, 'alertmanager.yml'),
        readFileSync(ALERTMANAGER_YML, 'utf8').replace(
          '/etc/alertmanager/secrets/bridge-token',
          join(dir, 'bridge-token'),
        ),
      );
      server = await startReadyServer('Alertmanager', alertmanagerBin!, (port) => [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // No gossip: other tests and helpers share this machine.
        '--cluster.listen-address=',
      ]);
      base = server.base;
    }, 30000);

    afterAll(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('inhibits HighErrorRate under the SLO page and groups them as one incident', async () => {
      const alert = (labels: Record<string, string>) => ({
        labels: { job: 'bizmon', ...labels },
        annotations: { summary: labels.alertname },
      });
      const posted = [
        alert({ alertname: 'HighErrorRate', severity: 'critical', team: 'platform' }),
        alert({
          alertname: 'ErrorBudgetBurn',
          severity: 'critical',
          team: 'platform',
          slo: 'http-availability',
        }),
        alert({
          alertname: 'ErrorBudgetBurn',
          severity: 'warning',
          team: 'platform',
          slo: 'http-availability',
        }),
        // Another job's threshold page stays a page of its own.
        alert({ alertname: 'HighErrorRate', severity: 'critical', team: 'platform', job: 'other' }),
        // AI: the page of service flux inhibits flux's threshold alert, not whisper's.
        alert({
          alertname: 'ErrorBudgetBurn',
          severity: 'critical',
          team: 'ai_services',
          slo: 'ai-success',
          service: 'flux',
        }),
        alert({
          alertname: 'AIServiceHighFailureRate',
          severity: 'critical',
          team: 'ai_services',
          service: 'flux',
        }),
        alert({
          alertname: 'AIServiceHighFailureRate',
          severity: 'critical',
          team: 'ai_services',
          service: 'whisper',
        }),
        // The latency SLO supersedes no threshold alert: HighErrorRate of its job still shows.
        alert({
          alertname: 'ErrorBudgetBurn',
          severity: 'critical',
          team: 'platform',
          slo: 'http-latency',
          job: 'slow',
        }),
        alert({ alertname: 'HighErrorRate', severity: 'critical', team: 'platform', job: 'slow' }),
      ];
      const res = await fetch(`${base}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(posted),
      });
      expect(res.status).toBe(200);

      const state = async () => {
        const alerts = (await (await fetch(`${base}/api/v2/alerts`)).json()) as ApiAlert[];
        return alerts
          .map(
            (a) =>
              `${a.labels.alertname} ${a.labels.severity} ${a.labels.job}${a.labels.service === undefined ? '' : ` ${a.labels.service}`}: ${a.status.state}`,
          )
          .sort();
      };
      const want = [
        'AIServiceHighFailureRate critical bizmon flux: suppressed',
        'AIServiceHighFailureRate critical bizmon whisper: active',
        'ErrorBudgetBurn critical bizmon flux: active',
        'ErrorBudgetBurn critical bizmon: active',
        'ErrorBudgetBurn critical slow: active',
        'ErrorBudgetBurn warning bizmon: suppressed',
        'HighErrorRate critical bizmon: suppressed',
        'HighErrorRate critical other: active',
        'HighErrorRate critical slow: active',
      ];
      // Inhibition is evaluated as alerts arrive; poll until the API shows all of them.
      let got: string[] = [];
      for (let i = 0; i < 50; i++) {
        got = await state();
        if (JSON.stringify(got) === JSON.stringify(want)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(got).toEqual(want);

      // Critical alerts of one job (and service) share one group: one page per incident.
      const groups = (await (await fetch(`${base}/api/v2/alerts/groups`)).json()) as ApiGroup[];
      const platform = groups.find(
        (g) =>
          g.labels.team === 'platform' &&
          g.labels.job === 'bizmon' &&
          g.alerts.some((a) => a.labels.severity === 'critical'),
      );
      expect(platform?.alerts.map((a) => a.labels.alertname).sort()).toEqual([
        'ErrorBudgetBurn',
        'HighErrorRate',
      ]);
      expect(platform?.labels).toEqual({ team: 'platform', job: 'bizmon' });
    }, 20000);
  },
);
