import {
  createAlertManager,
  initAlertManager,
  sendBusinessAlert,
  shutdownAlertManager,
  type AlertManager,
} from '@bizmon/alerting';
import {
  occurrences,
  startDingTalk,
  startWebhook,
  waitFor,
  type FakeServer,
} from './helpers/robots';

const logs: string[] = [];
const logger = {
  info: (m: string) => logs.push(m),
  warn: (m: string) => logs.push(m),
  error: (m: string) => logs.push(m),
};
const fast = { timeoutMs: 2_000, retryBaseMs: 20, retryMaxMs: 100 };
const toClose: Array<{ close(): Promise<void> }> = [];

afterAll(async () => {
  await shutdownAlertManager();
  await Promise.all(toClose.map((c) => c.close()));
});

async function track<T extends { close(): Promise<void> }>(p: Promise<T> | T): Promise<T> {
  const v = await p;
  toClose.push(v);
  return v;
}

test('a hanging channel neither delays nor fails the others', async () => {
  const hang = await track(startWebhook());
  hang.mode = 'hang';
  const robot = await track(startDingTalk({ token: 'tok-1234' }));
  const m: AlertManager = await track(
    createAlertManager({
      logger,
      channels: [
        { type: 'webhook', url: hang.url, name: 'stuck' },
        { type: 'dingtalk', webhookUrl: robot.webhookUrl },
      ],
      delivery: { ...fast, timeoutMs: 1_500, maxAttempts: 1 },
    }),
  );
  let settled = false;
  const sending = m
    .send({ name: 'Concurrent', severity: 'critical', message: 'x' })
    .finally(() => (settled = true));
  await waitFor(() => robot.received.length === 1);
  // The robot got its message while the stuck channel was still waiting for its timeout.
  expect(settled).toBe(false);
  expect(hang.requests).toBe(1);
  const [stuck, dt] = await sending;
  expect(stuck).toMatchObject({
    channel: 'stuck',
    ok: false,
    error: expect.stringMatching(/timed out/),
  });
  expect(dt).toMatchObject({ channel: 'dingtalk', ok: true });
});

test('sendBusinessAlert warns and drops before initAlertManager, delivers after', async () => {
  const hook = await track(startWebhook());
  const warnings: string[] = [];
  const spy = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      warnings.push(String(chunk));
      return true;
    });
  try {
    await shutdownAlertManager();
    expect(await sendBusinessAlert('Early', 'info', 'before init')).toEqual([]);
  } finally {
    spy.mockRestore();
  }
  expect(warnings.join('')).toMatch(/not initialised; dropping alert Early/);
  expect(hook.requests).toBe(0);
  initAlertManager({
    logger,
    source: 'wxiai-platform',
    channels: [{ type: 'webhook', url: hook.url }],
    delivery: fast,
  });
  const results = await sendBusinessAlert('APIAbuseDetected', 'critical', 'abuse from 10.0.0.1', {
    ip: '10.0.0.1',
  });
  expect(results).toEqual([expect.objectContaining({ channel: 'webhook', ok: true })]);
  expect(hook.received[0]!.body).toMatchObject({
    alert_name: 'APIAbuseDetected',
    severity: 'critical',
    message: 'abuse from 10.0.0.1',
    details: { ip: '10.0.0.1' },
    source: 'wxiai-platform',
  });
});

test('invalid configs fail with the field named and no secret echoed', () => {
  expect(() =>
    createAlertManager({
      channels: [{ type: 'dingtalk', webhookUrl: 'not a url', secret: 'SECsupersecret' }],
    }),
  ).toThrow(/channels\.0\.webhookUrl/);
  try {
    createAlertManager({
      channels: [{ type: 'dingtalk', webhookUrl: 'not a url', secret: 'SECsupersecret' }],
    });
  } catch (e) {
    expect((e as Error).message).not.toContain('SECsupersecret');
  }
});

test('over the rate limit, queued alerts are merged, none dropped, none twice', async () => {
  const robot = await track(startDingTalk({ token: 'tok-merge', perMinute: 100 }));
  const m = await track(
    createAlertManager({
      logger,
      channels: [
        {
          type: 'dingtalk',
          webhookUrl: robot.webhookUrl,
          rateLimit: { messages: 5, perMs: 1_000 },
        },
      ],
      delivery: fast,
    }),
  );
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      m.send({ name: `Burst${String(i).padStart(2, '0')}`, severity: 'warning', message: 'm' }),
    ),
  );
  expect(results.every(([r]) => r!.ok)).toBe(true);
  for (let i = 0; i < 30; i++)
    expect(occurrences(robot, `Burst${String(i).padStart(2, '0')}`)).toBe(1);
  // 4 single messages then one merged message per freed token; never more than 5 in any second.
  expect(robot.received.length).toBeLessThan(30);
  for (const r of robot.received) {
    expect(
      robot.received.filter((o) => o.at > r.at - 1_000 && o.at <= r.at).length,
    ).toBeLessThanOrEqual(5);
  }
  expect(robot.rejections).toEqual([]);
});

test('a robot that is down, then back, gets every alert exactly once', async () => {
  const robot: FakeServer = await track(startWebhook());
  robot.mode = 'down';
  const m = await track(
    createAlertManager({
      logger,
      channels: [{ type: 'webhook', url: robot.url }],
      delivery: { ...fast, maxAttempts: 1000 },
    }),
  );
  const sends = Array.from({ length: 10 }, (_, i) =>
    m.send({ name: `Down${i}`, severity: 'critical', message: 'm' }),
  );
  await waitFor(() => robot.rejections.length >= 3);
  robot.mode = 'ok';
  const results = await Promise.all(sends);
  expect(results.every(([r]) => r!.ok)).toBe(true);
  for (let i = 0; i < 10; i++) expect(occurrences(robot, `Down${i}`)).toBe(1);
});
