/**
 * Issue #13: the robot rate limit must survive a crash. A bridge that has used up a robot's
 * window is killed with SIGKILL and started again on the same dataDir; the robot stand-in
 * rejects (130101) any message over its limit, so a restarted bridge that forgot its sends is
 * caught by the robot itself.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { amPayload, post, startBridge, tempDir, type BridgeProcess } from './helpers/bridge';
import { occurrences, startDingTalk, waitFor } from './helpers/robots';

const TOKEN = 'dt-restart-token-4f1e';
const LIMIT = 5;
const ROBOT_WINDOW_MS = 8_000;
// The bridge keeps half a second more than the robot, for the network between them.
const BRIDGE_WINDOW_MS = 8_500;

let robot: Awaited<ReturnType<typeof startDingTalk>>;
const bridges: BridgeProcess[] = [];

beforeAll(async () => {
  robot = await startDingTalk({ token: TOKEN, perMinute: LIMIT, windowMs: ROBOT_WINDOW_MS });
});

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop()));
  await robot.close();
});

async function bridge(dir: string): Promise<BridgeProcess> {
  const b = await startBridge(
    dir,
    `listen: 127.0.0.1:0
dataDir: ./data
delivery: { timeoutMs: 3000, retryBaseMs: 50, retryMaxMs: 300 }
channels:
  dt:
    type: dingtalk
    webhookUrl: "${robot.url}/robot/send?access_token=\${DT_TOKEN}"
    rateLimit: { messages: ${LIMIT}, perMs: ${BRIDGE_WINDOW_MS} }
routes:
  - channels: [dt]
`,
    { DT_TOKEN: TOKEN },
  );
  bridges.push(b);
  return b;
}

async function send(b: BridgeProcess, name: string): Promise<void> {
  expect((await post(`${b.url}/alerts`, amPayload([{ labels: { alertname: name } }]))).status).toBe(
    200,
  );
}

test('a bridge killed with SIGKILL after using up a robot window still holds it after restart', async () => {
  const dir = tempDir('bridge-rate-restart');
  const first = await bridge(dir);
  for (let i = 0; i < LIMIT; i++) {
    await send(first, `Before${i}`);
    await waitFor(() => robot.received.length === i + 1, 5_000, `message ${i + 1}`);
  }
  // The file holds send times under hashed robot keys, never the token.
  const saved = readFileSync(path.join(dir, 'data', 'rate-limits.json'), 'utf8');
  expect(saved).not.toContain(TOKEN);
  expect(Object.values(JSON.parse(saved) as Record<string, number[]>)[0]).toHaveLength(LIMIT);

  expect(await first.stop('SIGKILL')).toBeNull();
  const second = await bridge(dir);
  await send(second, 'After0');
  await send(second, 'After1');
  await waitFor(
    () => occurrences(robot, 'After0') + occurrences(robot, 'After1') === 2,
    20_000,
    'the alerts sent after the restart',
  );
  // Never over the limit: the robot rejected nothing, and the first message after the restart
  // came a whole window after the first one before it.
  expect(robot.rejections).toEqual([]);
  const firstAfter = robot.received.find((r) => r.text.includes('After0'))!;
  expect(firstAfter.at - robot.received[0]!.at).toBeGreaterThanOrEqual(ROBOT_WINDOW_MS);
  expect(robot.received.length).toBeLessThanOrEqual(LIMIT + 2);
});

test('an unreadable rate-limits.json is reported and the bridge starts with fresh limits', async () => {
  const dir = tempDir('bridge-rate-corrupt');
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  writeFileSync(path.join(dir, 'data', 'rate-limits.json'), '{"torn": [17');
  const b = await bridge(dir);
  expect(b.lines.some((l) => /warning: rate-limits\.json is unreadable/.test(l))).toBe(true);
  const before = robot.received.length;
  await send(b, 'AfterCorrupt');
  await waitFor(() => occurrences(robot, 'AfterCorrupt') === 1, 20_000, 'the alert');
  expect(robot.received.length).toBe(before + 1);
  // Rewritten whole on the next send.
  expect(() =>
    JSON.parse(readFileSync(path.join(dir, 'data', 'rate-limits.json'), 'utf8')),
  ).not.toThrow();
});
