import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAX_MESSAGE_BYTES,
  readMessages,
  sendMessage,
  socketPath,
} from '../../../src/export/cluster/channel';

const uid = process.getuid!();
let base: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'bizmon-channel-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('socketPath', () => {
  test('creates a 0700 directory of this user and names the socket after the port', () => {
    expect(socketPath(9464, base)).toEqual({
      path: join(base, `bizmon-${uid}`, 'exporter-9464.sock'),
    });
  });

  test('refuses a directory others may enter', () => {
    mkdirSync(join(base, `bizmon-${uid}`), { mode: 0o755 });
    chmodSync(join(base, `bizmon-${uid}`), 0o755);
    expect(socketPath(9464, base)).toEqual({ refused: expect.stringContaining('mode 0700') });
  });

  test('refuses a symbolic link in place of the directory', () => {
    mkdirSync(join(base, 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(base, 'elsewhere'), join(base, `bizmon-${uid}`));
    expect(socketPath(9464, base)).toEqual({ refused: expect.stringContaining('mode 0700') });
  });
});

describe('readMessages', () => {
  let server: Server;
  let path: string;
  let received: unknown[];
  let serverSide: Promise<Socket>;

  beforeEach(async () => {
    path = join(base, 's.sock');
    received = [];
    server = createServer();
    serverSide = new Promise((resolve) =>
      server.once('connection', (socket) => {
        socket.on('error', () => {});
        readMessages(socket, (m) => received.push(m));
        resolve(socket);
      }),
    );
    await new Promise<void>((resolve) => server.listen(path, resolve));
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const connect = (): Promise<Socket> =>
    new Promise((resolve) => {
      const client = createConnection(path, () => resolve(client));
      client.on('error', () => {});
    });
  const until = async (check: () => boolean): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  test('reads one JSON message per line, however the bytes arrive', async () => {
    const client = await connect();
    sendMessage(client, { a: 'line\nbreak' });
    client.write('{"b":');
    await new Promise((r) => setTimeout(r, 20));
    client.write('2}\n{"c":3}\n');
    await until(() => received.length === 3);
    expect(received).toEqual([{ a: 'line\nbreak' }, { b: 2 }, { c: 3 }]);
    client.destroy();
  });

  test('closes the connection on a line that is not JSON', async () => {
    const client = await connect();
    client.write('{"ok":1}\nnot json\n{"after":1}\n');
    const socket = await serverSide;
    await until(() => socket.destroyed);
    expect(received).toEqual([{ ok: 1 }]);
    client.destroy();
  });

  test(`closes the connection on a message over ${MAX_MESSAGE_BYTES} bytes`, async () => {
    const client = await connect();
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const socket = await serverSide;
    const closed = new Promise((r) => client.once('close', r));
    for (let sent = 0; sent <= MAX_MESSAGE_BYTES && !socket.destroyed; sent += chunk.length) {
      if (!client.write(chunk))
        await Promise.race([new Promise((r) => client.once('drain', r)), closed]);
    }
    await until(() => socket.destroyed);
    expect(received).toEqual([]);
    client.destroy();
  });
});
