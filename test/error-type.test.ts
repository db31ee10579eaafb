/**
 * One error vocabulary: the same thrown values, failed through every package of a preloaded
 * Express app (test/fixtures/error-type-app.cjs) — an http handler, errors.record,
 * aiTasks.failed, a monitorCreditsOperation function, a pg query, an ioredis command — get the
 * same `error_type` everywhere, the one the root README's table promises.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { get, startApp, type RunningApp } from './support/apps';
import { expectMatchesCatalog, type Family } from './support/exposition';
import { hasServer } from './support/env';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const fixture = join(__dirname, 'fixtures', 'error-type-app.cjs');
const prefix = `bizmon:errtype:${process.pid}:${Date.now().toString(36)}:`;
const databaseUrl =
  process.env.BIZMON_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Path = 'http' | 'errors' | 'aiTask' | 'credits' | 'db' | 'cache';
const PATHS: readonly Path[] = ['http', 'errors', 'aiTask', 'credits', 'db', 'cache'];

/** Where each path counts `application_errors_total`. */
const COMPONENT: Record<Path, string> = {
  http: 'http',
  errors: 'errors_record',
  aiTask: 'ai_service_errtype',
  credits: 'credits_system',
  db: 'db',
  cache: 'cache',
};

interface Case {
  /** The value's cell in the README's error_type table. */
  readme: string;
  errorType: string;
  /** Paths whose library does not fail with this value: nothing may be counted. */
  notAFailure?: Path[];
}

const CASES: Record<string, Case> = {
  error: { readme: "`new Error('…')`", errorType: 'Error' },
  typeError: { readme: "`new TypeError('…')`", errorType: 'TypeError' },
  subclass: {
    readme: 'an instance of `class PaymentError extends Error`',
    errorType: 'PaymentError',
  },
  renamed: {
    readme: 'an `Error` whose `name` was set to `ValidationError`',
    errorType: 'ValidationError',
  },
  weirdClass: {
    readme: 'an instance of a class named `my error <script>!`',
    errorType: 'my_error__script__',
  },
  abortError: {
    readme: '`AbortError`, a `DOMException` (`AbortController`, `fetch`)',
    errorType: 'AbortError',
  },
  pgError: { readme: "pg's `DatabaseError` with SQLSTATE `42P01`", errorType: 'undefined_table' },
  replyError: { readme: "ioredis's `ReplyError`", errorType: 'ReplyError' },
  string: { readme: "`'text'`", errorType: 'string' },
  number: { readme: '`42`', errorType: 'number' },
  // Express takes a falsy error for none (the request goes on to a 404), and pg resolves a
  // query whose failure is falsy: for them nothing failed.
  null: { readme: '`null`', errorType: 'null', notAFailure: ['http', 'db'] },
  undefined: { readme: '`undefined`', errorType: 'undefined', notAFailure: ['http', 'db'] },
  plainObject: { readme: '`{ code: 1 }`, `Object.create(null)`', errorType: 'object' },
  namedObject: { readme: "`{ name: 'QuotaExceeded' }`", errorType: 'QuotaExceeded' },
  symbol: { readme: "`Symbol('s')`", errorType: 'symbol' },
  revokedProxy: {
    readme: 'an object that throws when read (a revoked `Proxy`)',
    errorType: 'object',
  },
};

/** `application_errors_total` per component and error_type. */
function errorCounts(families: Map<string, Family>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of families.get('application_errors_total')?.samples ?? [])
    counts.set(`${s.labels.component}\u0000${s.labels.error_type}`, s.value);
  return counts;
}

test("the README's error_type table lists every value the cross-package test throws", () => {
  for (const c of Object.values(CASES))
    expect(readme).toContain(`| ${c.readme} | \`${c.errorType}\` |`);
});

let servers = false;
beforeAll(async () => {
  const postgres = await hasServer('PostgreSQL', '127.0.0.1', 5432);
  const redis = await hasServer('Redis', '127.0.0.1', 6379);
  servers = postgres && redis;
});

describe('one error_type for one thrown value, through every package', () => {
  let app: RunningApp | undefined;
  let last = new Map<string, number>();

  const scrape = async (): Promise<Map<string, number>> => {
    const res = await get(`http://127.0.0.1:${app!.exporterPort}/metrics`);
    expect(res.status).toBe(200);
    return errorCounts(expectMatchesCatalog(res.body));
  };

  /** Fails once through `path` with case `name`; returns the error_types it counted. */
  const failOnce = async (path: Path, name: string): Promise<string[]> => {
    await get(`http://127.0.0.1:${app!.port}/fail/${path}/${name}`);
    const now = await scrape();
    const counted: string[] = [];
    for (const [key, value] of now) {
      const [component, errorType] = key.split('\u0000') as [string, string];
      const increase = value - (last.get(key) ?? 0);
      if (increase === 0) continue;
      // Anything but one count in the path's component shows in the matrix as a mismatch.
      const where = component === COMPONENT[path] ? '' : `${component}:`;
      counted.push(`${where}${errorType}${increase === 1 ? '' : ` x${increase}`}`);
    }
    last = now;
    return counted;
  };

  beforeAll(async () => {
    if (!servers) return;
    app = await startApp(fixture, {
      env: { DATABASE_URL: databaseUrl, REDIS_URL: 'redis://127.0.0.1:6379', PREFIX: prefix },
    });
    last = await scrape();
  });

  afterAll(async () => {
    if (app === undefined) return;
    await get(`http://127.0.0.1:${app.port}/cleanup`);
    await app.stop();
  });

  test('each path counts the README name for each value, and no message leaks', async () => {
    if (!servers) return;
    const seen: Record<string, Record<string, string[]>> = {};
    const expected: Record<string, Record<string, string[]>> = {};
    for (const [name, c] of Object.entries(CASES)) {
      seen[name] = {};
      expected[name] = {};
      for (const path of PATHS) {
        seen[name][path] = await failOnce(path, name);
        expected[name][path] = c.notAFailure?.includes(path) ? [] : [c.errorType];
      }
    }
    // One comparison of the whole matrix, so a failure shows every disagreement at once.
    expect(seen).toEqual(expected);
    const text = (await get(`http://127.0.0.1:${app!.exporterPort}/metrics`)).body;
    expect(text).not.toContain('secret-value');
    expect(text).not.toContain('4111');
  });

  test('ai_service_failures_total uses the same names', async () => {
    if (!servers) return;
    const res = await get(`http://127.0.0.1:${app!.exporterPort}/metrics`);
    const failures = expectMatchesCatalog(res.body).get('ai_service_failures_total')!.samples;
    const types = failures
      .filter((s) => s.labels.service === 'errtype')
      .map((s) => s.labels.error_type)
      .sort();
    expect(types).toEqual([...new Set(Object.values(CASES).map((c) => c.errorType))].sort());
  });
});
