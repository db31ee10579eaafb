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
import { hasServer } from './support/env';

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

/**
 * Runs a script of test/fixtures/differential plain and preloaded, with a port nothing listens
 * on in DIFF_CLOSED_PORT, when `server` answers on 127.0.0.1:`port` (else skips, loudly).
 */
async function runAgainst(
  server: string,
  port: number,
  script: string,
  env: Record<string, string>,
): Promise<DifferentialResult | undefined> {
  if (!(await hasServer(server, '127.0.0.1', port))) return undefined;
  return runPlainAndPreloaded(join(scripts, script), {
    DIFF_CLOSED_PORT: String(await freePort()),
    ...env,
  });
}

describe('pg behaves the same with and without bizmon', () => {
  test('Client, Query, submittables and Pool: every call form and error', async () => {
    const result = await runAgainst('PostgreSQL', 5432, 'pg-calls.cjs', {
      DIFF_PG_URL:
        process.env.BIZMON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    });
    if (!result) return;
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

describe('ioredis behaves the same with and without bizmon', () => {
  test('commands, pipelines, transactions, scripts, pub/sub and client lifecycles', async () => {
    const result = await runAgainst('Redis', 6379, 'ioredis-calls.cjs', {
      DIFF_REDIS_PORT: '6379',
      DIFF_PREFIX: `bizmon:differential:${process.pid}:${Date.now().toString(36)}:`,
    });
    if (!result) return;
    expect(result.plain.meta.ioredisPatched).toBe(false);
    expect(result.preloaded.meta.ioredisPatched).toBe(true);
    // What subscribing to ioredis's tracing channel changed: a promise's identity and the
    // order in which promises and callbacks settle.
    expect(
      traceEvents(result.plain).find((e) => e[1] === 'sendCommand returns the command promise'),
    ).toEqual([expect.any(Number), 'sendCommand returns the command promise', true]);
    expect(
      traceEvents(result.plain)
        .filter((e) => e[1] === 'order')
        .map((e) => e[2]),
    ).toEqual([
      'microtask',
      'nextTick',
      'immediate',
      'promise 1',
      'callback 2',
      'promise 3',
      'callback 4',
      'promise 5',
      'callback 6',
      'promise of 6',
      'promise 7',
    ]);
    expectCompleteAndIdentical(result);
  });
});

describe('an ESM app importing pg and ioredis, preloaded with --import', () => {
  test('default, named and namespace imports, and a few calls of each form', async () => {
    const servers =
      (await hasServer('PostgreSQL', '127.0.0.1', 5432)) &&
      (await hasServer('Redis', '127.0.0.1', 6379));
    if (!servers) return;
    const result = await runPlainAndPreloaded(
      join(scripts, 'esm-imports.mjs'),
      {
        DIFF_PG_URL:
          process.env.BIZMON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
        DIFF_REDIS_PORT: '6379',
        DIFF_PREFIX: `bizmon:differential-esm:${process.pid}:${Date.now().toString(36)}:`,
      },
      { preload: '--import' },
    );
    expect(result.plain.meta).toEqual({ pgWrapped: false, ioredisPatched: false });
    expect(result.preloaded.meta).toEqual({ pgWrapped: true, ioredisPatched: true });
    expectCompleteAndIdentical(result);
  });
});

test('the harness reports where two traces part, and nothing for equal ones', () => {
  expect(traceDifference(['a', 'b'], ['a', 'b'])).toBeUndefined();
  const message = traceDifference(['a', 'b', 'c'], ['a', 'x', 'c']);
  expect(message).toContain('traces differ at event 1');
  expect(message).toContain('> b');
  expect(message).toContain('> x');
  // A run that stopped early differs where it stopped.
  expect(traceDifference(['a', 'b'], ['a'])).toContain('traces differ at event 1');
});
