/**
 * "Invisible": pg and ioredis behave exactly as without bizmon. Scripts that make every call
 * their docs list (and wrong ones) run plain and with `--require @bizmon/node/register`, against
 * the real PostgreSQL and Redis; the two traces (results, thrown errors, callback order,
 * uncaught exceptions) must be identical. The scripts are test/fixtures/differential/*.cjs; the
 * harness is test/support/differential.ts.
 */
import { join } from 'node:path';
import { freePort } from './support/apps';
import {
  runPlainAndPreloaded,
  traceDifference,
  traceEvents,
  type DifferentialResult,
} from './support/differential';
import { describeIf, hasServer } from './support/env';

const scripts = join(__dirname, 'fixtures', 'differential');

function expectCompleteAndIdentical(result: DifferentialResult): void {
  const { plain, preloaded } = result;
  for (const run of [plain, preloaded]) {
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
    // The script ran to its end (a script that died early would compare equal but prove little).
    expect(traceEvents(run).some((event) => event[1] === 'done')).toBe(true);
  }
  expect(traceDifference(plain.trace, preloaded.trace)).toBeUndefined();
}

/** The event recorded for a step: `[sequence, kind, step, details]`. */
function outcome(result: DifferentialResult, step: string): unknown[] | undefined {
  return traceEvents(result.plain).find(
    (event) => event[2] === step && ['throw', 'resolve', 'reject'].includes(event[1] as string),
  );
}

describe('pg behaves the same with and without bizmon', () => {
  let available = false;
  beforeAll(async () => {
    available = await hasServer('PostgreSQL', '127.0.0.1', 5432);
  });

  test('Client, Query, submittables and Pool: every call form and error', async () => {
    if (!available) return;
    const result = await runPlainAndPreloaded(join(scripts, 'pg-calls.cjs'), {
      DIFF_PG_URL:
        process.env.BIZMON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      DIFF_CLOSED_PORT: String(await freePort()),
    });
    expect(result.plain.meta.pgWrapped).toBe(false);
    expect(result.preloaded.meta.pgWrapped).toBe(true);
    // The case of issue #14: pg throws its TypeError and runs nothing.
    expect(outcome(result, 'text values non-function callback')).toEqual([
      expect.any(Number),
      'throw',
      'text values non-function callback',
      { error: 'TypeError', name: 'TypeError', message: 'callback is not a function' },
    ]);
    expect(outcome(result, 'config non-function callback')?.[1]).toBe('throw');
    expectCompleteAndIdentical(result);
  });
});
