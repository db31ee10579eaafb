/**
 * Test support: runs one script twice, as plain `node` and preloaded with
 * `--require @bizmon/node/register`, and returns both outputs, for tests that require bizmon to
 * change nothing an app can observe. stdout is what gets compared; stderr is returned apart
 * (the script may report there what bizmon measured).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { APP_NODE, freePort } from './apps';

const run = promisify(execFile);

export interface DifferentialRun {
  plain: string;
  preloaded: string;
  /** stderr of the preloaded run. */
  preloadedErr: string;
}

export async function runPlainAndPreloaded(
  args: string[],
  env: Record<string, string> = {},
): Promise<DifferentialRun> {
  const base = { ...process.env, ...env };
  const plain = await run(APP_NODE, args, { env: base, maxBuffer: 16 << 20 });
  const preloaded = await run(APP_NODE, ['--require', '@bizmon/node/register', ...args], {
    env: {
      ...base,
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()),
    },
    maxBuffer: 16 << 20,
  });
  return { plain: plain.stdout, preloaded: preloaded.stdout, preloadedErr: preloaded.stderr };
}
