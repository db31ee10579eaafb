/**
 * Two copies of @bizmon/core in one process (issue #18): a second copy of the built package —
 * its bundle and package.json, with another version — in a temporary node_modules, loaded with
 * the workspace's copy by a fixture app, in both orders. Compatible copies record into one
 * registry and scrape it whichever starts the export; an incompatible one warns on one line
 * and does nothing, never crashes.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { expectMatchesCatalog, sampleValue } from '../../../test/support/exposition';

const runFile = promisify(execFile);
const root = join(__dirname, '..', '..', '..');
const workspaceCopy = join(root, 'packages', 'core');
const fixture = join(__dirname, 'fixtures', 'two-copies.cjs');
const work = mkdtempSync(join(tmpdir(), 'bizmon-two-copies-'));
const ownVersion = (
  JSON.parse(readFileSync(join(workspaceCopy, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * Another version of the built package: the same build, its package.json and its bundle (what
 * Node loads, scripts/bundle.mjs) saying `version`.
 */
function copyAs(version: string): string {
  const dir = join(work, version, 'node_modules', '@bizmon', 'core');
  mkdirSync(dir, { recursive: true });
  cpSync(join(workspaceCopy, 'bundle'), join(dir, 'bundle'), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(workspaceCopy, 'package.json'), 'utf8')) as {
    version: string;
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, version }, null, 2));
  // A build of another version carries that version in its generated version.js.
  const bundle = join(dir, 'bundle', 'modules.js');
  const source = readFileSync(bundle, 'utf8');
  const declaration = `exports2.VERSION = "${manifest.version}";`;
  if (!source.includes(declaration)) throw new Error(`no ${declaration} in ${bundle}`);
  writeFileSync(bundle, source.replace(declaration, `exports2.VERSION = "${version}";`));
  return dir;
}

/** `version` with its major, minor or patch number raised by one. */
function bump(version: string, part: 'major' | 'minor' | 'patch'): string {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  if (part === 'major') return `${major + 1}.0.0`;
  if (part === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

interface Run {
  result: Record<string, unknown> & { versions: [string, string] };
  stderr: string;
}

type Mode = 'shared' | 'refused' | 'older-shape';

async function run(firstDir: string, secondDir: string, mode: Mode): Promise<Run> {
  // The temporary copy resolves its dependencies where the workspace's copy does.
  const nodePath = [join(workspaceCopy, 'node_modules'), join(root, 'node_modules')].join(
    delimiter,
  );
  const { stdout, stderr } = await runFile(process.execPath, [fixture, firstDir, secondDir, mode], {
    env: { ...process.env, NODE_PATH: nodePath },
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the fixture printed no result:\n${stdout}\n${stderr}`);
  return { result: JSON.parse(line.slice('RESULT '.length)) as Run['result'], stderr };
}

function warnings(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('[bizmon] warning:'));
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

// A compatible copy of ours: a patch release (below 1.0 a minor release may break, so it is
// refused: see the `refused` cases). And two copies of a 1.x with different minor versions.
const compatible = copyAs(bump(ownVersion, 'patch'));
const [olderMinor, newerMinor] = [copyAs('1.2.0'), copyAs('1.3.0')];

describe.each([
  ['the workspace copy first', workspaceCopy, compatible],
  ['the other copy first', compatible, workspaceCopy],
  ['1.2.0 first, then 1.3.0', olderMinor, newerMinor],
  ['1.3.0 first, then 1.2.0', newerMinor, olderMinor],
])('two compatible copies, %s', (_title, firstDir, secondDir) => {
  let shared: Run;
  beforeAll(async () => {
    shared = await run(firstDir, secondDir, 'shared');
  });

  test('share one pipeline: a start from either joins the other, and either stops it', () => {
    const { result } = shared;
    expect(new Set(result.versions).size).toBe(2);
    expect(result).toMatchObject({
      sameTelemetry: true,
      activeInFirst: true,
      activeInSecond: true,
      sameFamily: true,
      stoppedForBoth: true,
    });
  });

  test('record into one registry, and the export of the copy that did not create it reads it', () => {
    const metrics = shared.result.metrics as { status: number; text: string };
    expect(metrics.status).toBe(200);
    for (const text of [metrics.text, shared.result.scrapedByFirst as string]) {
      const families = expectMatchesCatalog(text);
      const orders = { method: 'GET', endpoint: '/orders' };
      expect(sampleValue(families, 'http_requests_total', orders)).toBe(5);
      expect(sampleValue(families, 'http_request_duration_seconds_count', orders)).toBe(2);
      expect(sampleValue(families, 'http_request_duration_seconds_sum', orders)).toBeCloseTo(1);
      expect(
        sampleValue(families, 'http_request_duration_seconds_bucket', { ...orders, le: '0.5' }),
      ).toBe(1);
      expect(sampleValue(families, 'db_connection_pool_size', { pool: '/orders' })).toBe(3);
      expect(
        sampleValue(families, 'bizmon_dropped_measurements_total', {
          metric: 'ai_tasks_submitted_total',
          reason: 'invalid_value',
        }),
      ).toBe(2);
      expect(families.get('system_info')!.samples).toHaveLength(1);
    }
    expect(shared.result.statsOfFirst).toMatchObject({ total_requests: 5 });
  });

  test('warn about nothing but the dropped measurements, once for both copies', () => {
    const lines = warnings(shared.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/dropped a measurement of ai_tasks_submitted_total/);
  });
});

test('a copy that finds a state without the fields its minor version added adds them', async () => {
  const { result } = await run(workspaceCopy, compatible, 'older-shape');
  expect(result).toMatchObject({ sameTelemetry: true, activeInFirst: true, stoppedForBoth: true });
  const metrics = result.metrics as { status: number; text: string };
  expect(metrics.status).toBe(200);
  const families = expectMatchesCatalog(metrics.text);
  expect(sampleValue(families, 'http_requests_total', { endpoint: '/orders' })).toBe(5);
  expect(
    sampleValue(families, 'bizmon_dropped_measurements_total', {
      metric: 'ai_tasks_submitted_total',
    }),
  ).toBe(2);
});

describe.each([
  ['a different major version', bump(ownVersion, 'major')],
  // Same key as ours (the major is 0), refused by the version check.
  ...(ownVersion.startsWith('0.')
    ? [['a different 0.x minor version', bump(ownVersion, 'minor')]]
    : []),
])('a copy of %s', (_title, version) => {
  const other = copyAs(version as string);

  test.each([
    ['loaded after the workspace copy', workspaceCopy, other],
    ['loaded before the workspace copy', other, workspaceCopy],
  ])(
    '%s: the later copy warns once, starts and records nothing, the first works',
    async (_order, firstDir, secondDir) => {
      const { result, stderr } = await run(firstDir, secondDir, 'refused');
      const [firstVersion, secondVersion] = result.versions;
      const lines = warnings(stderr).filter((l) => !/dropped a measurement/.test(l));
      expect(lines).toEqual([
        `[bizmon] warning: another copy of @bizmon/core (${firstVersion}) already runs in this process ` +
          `and cannot share its metrics with this one (${secondVersion}), so this copy records and ` +
          'exports nothing; install a single version (see `npm ls @bizmon/core`)',
        expect.stringMatching(/^\[bizmon\] warning: start ignored: another copy of @bizmon\/core/),
      ]);
      expect(result).toMatchObject({
        inertServer: false,
        inertScrape: '',
        activeInSecond: false,
        ownerActive: true,
        ownerActiveAfterSecondShutdown: true,
        secondStats: { total_requests: 0, active_connections: 0 },
      });
      const metrics = result.metrics as { status: number; text: string };
      expect(metrics.status).toBe(200);
      const families = expectMatchesCatalog(metrics.text);
      expect(sampleValue(families, 'http_requests_total', { endpoint: '/first' })).toBe(2);
      expect(sampleValue(families, 'http_requests_total', { endpoint: '/second' })).toBe(0);
      expect(sampleValue(families, 'db_connection_pool_size', { pool: '/second' })).toBe(0);
      expect(sampleValue(families, 'http_concurrent_connections')).toBe(0);
      expect(
        sampleValue(families, 'bizmon_dropped_measurements_total', {
          metric: 'ai_tasks_submitted_total',
        }),
      ).toBe(1);
    },
  );
});
