/** Test support: a throw-away redis-server on a free port, optionally a one-node cluster. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../../test/support/apps';

export interface LocalRedis {
  port: number;
  url: string;
  /** Sends one command in RESP and returns the raw reply text. */
  command(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Sends one command in RESP to 127.0.0.1:port and returns the raw reply text. */
export function sendCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(2000);
    socket.on('data', (d) => {
      data += d.toString();
      // Single-line replies end at the first CRLF; bulk replies after their announced length.
      const bulk = /^\$(\d+)\r\n/.exec(data);
      if (
        (bulk && data.length >= bulk[0].length + Number(bulk[1]) + 2) ||
        (!data.startsWith('$') && data.endsWith('\r\n'))
      ) {
        socket.end();
        resolve(data);
      }
    });
    socket.once('error', reject);
    socket.once('timeout', () => (socket.destroy(), reject(new Error('redis command timed out'))));
    socket.write(
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
    );
  });
}

/** Starts `redis-server` with no persistence; `extra` adds arguments (e.g. --maxmemory 64mb). */
export async function startRedis(
  extra: string[] = [],
  options: { cluster?: boolean } = {},
): Promise<LocalRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bizmon-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    ...extra,
  ];
  if (options.cluster)
    args.push(
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, 'nodes.conf'),
      '--cluster-announce-ip',
      '127.0.0.1',
    );
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const command = (...a: string[]): Promise<string> => sendCommand(port, a);
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      if ((await command('PING')).startsWith('+PONG')) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  if (options.cluster) {
    await command('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    while (!(await command('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error('cluster did not become ok');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    command,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
