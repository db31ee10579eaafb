/**
 * Measures when each SLO's page fires in the burn-rate-20 scenario (2 % errors on 99.9 %):
 * evaluates ErrorBudgetBurn with promtool at every minute of the fault and prints the first
 * minute with a critical alert. The workbook's figure for the 1h pair is 1 h × 14.4 / 20.
 *
 *   npm run deploy:slo-detection
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { HEALTHY_MINUTES, sloTestFiles } from '../slo/scenarios';
import { slos } from '../slo/specs';
import { deployDir } from './generate';
import { findTool } from './tools';

interface TestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test: unknown[] }[];
}

function main(): void {
  const promtool = findTool('promtool');
  if (promtool === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'bizmon-slo-detection-'));
  try {
    for (const [file, content] of sloTestFiles(slos)) {
      const spec = parse(content) as TestFile;
      const test = spec.tests.find((t) => t.name.includes('burn rate 20'));
      if (test === undefined) continue;
      // Expect silence at every minute; promtool then prints what did fire, minute by minute.
      test.alert_rule_test = Array.from({ length: 60 }, (_, i) => ({
        eval_time: `${HEALTHY_MINUTES + i + 1}m`,
        alertname: 'ErrorBudgetBurn',
        exp_alerts: [],
      }));
      spec.tests = [test];
      spec.rule_files = spec.rule_files.map((f) => join(deployDir(), 'prometheus', 'tests', f));
      const path = join(dir, file);
      writeFileSync(path, stringify(spec));
      let output = '';
      try {
        output = execFileSync(promtool, ['test', 'rules', path], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (err) {
        // The expected failures: promtool reports them on stderr and exits 1.
        const e = err as { stdout?: string; stderr?: string };
        output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
      }
      // Failures are listed in time order, each with the alerts it got.
      let first: string | undefined;
      for (const block of output.split(/alertname: ErrorBudgetBurn, time: /).slice(1)) {
        const time = /^(\S+?),/.exec(block)?.[1];
        if (/got:[\s\S]*severity="critical"/.test(block)) {
          first = time;
          break;
        }
      }
      console.log(
        `${file}: first page at ${first ?? 'none within the hour'} (fault from ${HEALTHY_MINUTES}m)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
