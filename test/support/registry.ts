/**
 * Test support: a local npm registry (verdaccio) on loopback, and npm run against it with its own
 * cache and config, so nothing reaches or comes from the user's npm setup. `@bizmon/*` is served
 * only from what the test publishes; everything else is proxied to the registry this machine's
 * npm uses.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './apps';

const run = promisify(execFile);

export interface LocalRegistry {
  url: string;
  /** Runs npm in `cwd` against this registry; resolves with stdout, rejects with npm's output. */
  npm(args: string[], cwd: string): Promise<string>;
  /** What verdaccio printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The environment for npm: the caller's, without the npm_* variables that `npm test` sets (they
 * would point npm at the user's cache, config and workspace).
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return env;
}

/** The registry (and proxy, if any) this machine's npm uses; verdaccio's uplink. */
export async function upstreamRegistry(): Promise<{ url: string; proxy?: string }> {
  const get = async (key: string): Promise<string> =>
    (await run('npm', ['config', 'get', key], { env: npmEnv() })).stdout.trim();
  const url = await get('registry');
  const proxy = await get('https-proxy');
  return { url, ...(proxy && proxy !== 'null' ? { proxy } : {}) };
}

function config(dir: string, upstream: { url: string; proxy?: string }): string {
  const proxy = upstream.proxy ? `\n    https_proxy: ${JSON.stringify(upstream.proxy)}` : '';
  return `storage: ${JSON.stringify(join(dir, 'storage'))}
auth:
  htpasswd:
    file: ${JSON.stringify(join(dir, 'htpasswd'))}
    max_users: 1
uplinks:
  upstream:
    url: ${JSON.stringify(upstream.url)}
    timeout: 60s${proxy}
packages:
  '@bizmon/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    publish: $authenticated
    proxy: upstream
web:
  enable: false
middlewares:
  audit:
    enabled: false
log:
  type: stdout
  format: pretty
  level: warn
`;
}

async function waitUntilUp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`verdaccio exited (${child.exitCode}):\n${output()}`);
    try {
      if ((await fetch(`${url}/-/ping`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`verdaccio did not answer within 30 s:\n${output()}`);
}

/** Creates the publishing user and returns its token (verdaccio's CouchDB-style login). */
async function addUser(url: string): Promise<string> {
  const name = 'bizmon-test';
  const res = await fetch(`${url}/-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `pw-${process.pid}-${Date.now()}` }),
  });
  const body = (await res.json()) as { token?: string };
  if (!res.ok || !body.token) throw new Error(`verdaccio refused the user: ${res.status}`);
  return body.token;
}

/**
 * Starts verdaccio from the root's devDependencies on a free loopback port, with its storage in
 * `dir`. Throws when it cannot start.
 */
export async function startRegistry(dir: string): Promise<LocalRegistry> {
  const upstream = await upstreamRegistry();
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'verdaccio.yaml');
  writeFileSync(configFile, config(dir, upstream));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      require.resolve('verdaccio/bin/verdaccio'),
      '--config',
      configFile,
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { env: npmEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const stop = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    await waitUntilUp(url, child, () => out);
    const token = await addUser(url);
    // Own user and global config files, cache and registry: the user's npm setup is not read
    // (their registry is only verdaccio's uplink) and not written.
    const userconfig = join(dir, 'npmrc');
    const globalconfig = join(dir, 'npmrc-global');
    writeFileSync(userconfig, `registry=${url}/\n//127.0.0.1:${port}/:_authToken=${token}\n`);
    writeFileSync(globalconfig, '');
    const flags = [
      `--userconfig=${userconfig}`,
      `--globalconfig=${globalconfig}`,
      `--cache=${join(dir, 'npm-cache')}`,
      `--registry=${url}/`,
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
    ];
    return {
      url,
      npm: async (args, cwd) => {
        try {
          return (
            await run('npm', [...args, ...flags], {
              cwd,
              env: npmEnv(),
              maxBuffer: 64 * 1024 * 1024,
            })
          ).stdout;
        } catch (err) {
          const { stdout, stderr, message } = err as Error & { stdout?: string; stderr?: string };
          throw new Error(
            `npm ${args.join(' ')} failed: ${message}\n${stdout ?? ''}\n${stderr ?? ''}`,
          );
        }
      },
      output: () => out,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
