/**
 * Issue #13, finding 5: two bridges on one dataDir delivered every alert twice. The folder is
 * locked: a second bridge exits naming the holder; a lock left by a killed bridge (kill -9) is
 * taken over; a lock whose pid now belongs to another process is recognised as stale.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { amPayload, post, startBridge, tempDir, type BridgeProcess } from './helpers/bridge';
import { occurrences, startWebhook, waitFor, type FakeServer } from './helpers/robots';

let webhook: FakeServer;
const bridges: BridgeProcess[] = [];

const yaml = () => `listen: 127.0.0.1:0
dataDir: ./data
delivery: { timeoutMs: 2000, retryBaseMs: 50, retryMaxMs: 200 }
channels:
  sink: { type: webhook, url: "${webhook.url}/hook" }
routes:
  - channels: [sink]
`;

async function bridge(dir: string): Promise<BridgeProcess> {
  const b = await startBridge(dir, yaml());
  bridges.push(b);
  return b;
}

beforeAll(async () => {
  webhook = await startWebhook();
});

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop()));
  await webhook.close();
});

test('a second bridge on the same dataDir exits with an error naming the holder; alerts go out once', async () => {
  const dir = tempDir('bridge-lock');
  const first = await bridge(dir);
  await expect(bridge(dir)).rejects.toThrow(
    new RegExp(
      `exited with 1:[\\s\\S]*data folder .*data is in use by another bizmon-alert-bridge ` +
        `\\(pid ${first.proc.pid} on host ${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
    ),
  );
  const holder = JSON.parse(readFileSync(path.join(dir, 'data', 'bridge.lock'), 'utf8')) as {
    pid: number;
  };
  expect(holder.pid).toBe(first.proc.pid);
  for (let i = 0; i < 10; i++) {
    expect(
      (await post(`${first.url}/alerts`, amPayload([{ labels: { alertname: `Once${i}` } }])))
        .status,
    ).toBe(200);
  }
  await waitFor(() => [...Array(10).keys()].every((i) => occurrences(webhook, `Once${i}`) === 1));
  // SIGTERM releases the lock.
  expect(await first.stop('SIGTERM')).toBe(0);
  expect(existsSync(path.join(dir, 'data', 'bridge.lock'))).toBe(false);
});

test('after kill -9 the stale lock is taken over at once and the outbox resumes', async () => {
  const dir = tempDir('bridge-lock-kill');
  const first = await bridge(dir);
  webhook.mode = 'down';
  expect(
    (await post(`${first.url}/alerts`, amPayload([{ labels: { alertname: 'Survivor' } }]))).status,
  ).toBe(200);
  expect(await first.stop('SIGKILL')).toBeNull();
  expect(existsSync(path.join(dir, 'data', 'bridge.lock'))).toBe(true);
  webhook.mode = 'ok';
  const second = await bridge(dir);
  await waitFor(() => occurrences(webhook, 'Survivor') === 1);
  const holder = JSON.parse(readFileSync(path.join(dir, 'data', 'bridge.lock'), 'utf8')) as {
    pid: number;
  };
  expect(holder.pid).toBe(second.proc.pid);
});

test('a lock whose pid now belongs to another process (pid reused) is stale', async () => {
  const dir = tempDir('bridge-lock-reuse');
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  // A live process that is not a bridge, with a start time that is not the recorded one.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    writeFileSync(
      path.join(dir, 'data', 'bridge.lock'),
      JSON.stringify({ pid: other.pid, host: os.hostname(), startTicks: '1', since: 'earlier' }),
    );
    const b = await bridge(dir);
    expect(b.lines.join('\n')).toMatch(/listening/);
  } finally {
    other.kill('SIGKILL');
  }
});

test('a lock held by a live process, or renewed on another host, is respected; one not renewed for 60 s is stale', async () => {
  const dir = tempDir('bridge-lock-live');
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const lock = path.join(dir, 'data', 'bridge.lock');
  // Our own test process: alive, and no start time recorded (another platform, or an older lock).
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'now' }));
  await expect(bridge(dir)).rejects.toThrow(new RegExp(`pid ${process.pid} on host`));
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere.example', since: 'now' }));
  await expect(bridge(dir)).rejects.toThrow(/pid 1 on host elsewhere\.example/);
  // The same lock, not renewed for two minutes: its host is gone (a replaced container or pod).
  const old = new Date(Date.now() - 120_000);
  utimesSync(lock, old, old);
  const b = await bridge(dir);
  expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(b.proc.pid);
  await b.stop('SIGTERM');
  writeFileSync(lock, 'garbage');
  await expect(bridge(dir)).rejects.toThrow(/cannot be read; if no other bridge uses this folder/);
  expect(readFileSync(lock, 'utf8')).toBe('garbage');
});
