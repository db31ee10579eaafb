/**
 * Issue #13, finding 2: `POST /alerts` took alerts from anyone who could reach the port. With
 * `auth`, only Alertmanager's credentials (bearer and/or basic, from its http_config) pass; a
 * non-loopback listen address without `auth` refuses to start unless `insecure: true`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadBridgeConfig } from '@bizmon/alerting';
import { writeFileSync } from 'node:fs';
import { amPayload, startBridge, tempDir, type BridgeProcess } from './helpers/bridge';
import { occurrences, startWebhook, waitFor, type FakeServer } from './helpers/robots';

const env = {
  BIZMON_BRIDGE_TOKEN: 'auth-test-bearer-token-77f1c2',
  BIZMON_BRIDGE_PASSWORD: 'auth-test-basic-password-3e9a',
};
let webhook: FakeServer;
const bridges: BridgeProcess[] = [];

function yaml(auth: string, listen = '127.0.0.1:0'): string {
  return `listen: "${listen}"
dataDir: ./data
${auth}
channels:
  sink: { type: webhook, url: "${webhook.url}/hook" }
routes:
  - channels: [sink]
`;
}

async function post(url: string, headers: Record<string, string>, name: string): Promise<Response> {
  return fetch(`${url}/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(amPayload([{ labels: { alertname: name } }])),
  });
}

const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

beforeAll(async () => {
  webhook = await startWebhook();
});

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.stop()));
  await webhook.close();
});

test('401 with WWW-Authenticate and nothing stored without valid credentials; 200 with them', async () => {
  const dir = tempDir('bridge-auth');
  const b = await startBridge(
    dir,
    yaml(`auth:
  bearerToken: \${BIZMON_BRIDGE_TOKEN}
  basicAuth: { username: alertmanager, password: "\${BIZMON_BRIDGE_PASSWORD}" }`),
    env,
  );
  bridges.push(b);
  const wrong: Array<Record<string, string>> = [
    {},
    { authorization: '' },
    { authorization: 'Bearer' },
    { authorization: `Bearer ${env.BIZMON_BRIDGE_TOKEN}x` },
    { authorization: `Bearer ${env.BIZMON_BRIDGE_TOKEN.slice(0, -1)}` },
    { authorization: `Token ${env.BIZMON_BRIDGE_TOKEN}` },
    { authorization: env.BIZMON_BRIDGE_TOKEN },
    { authorization: basic('alertmanager', 'nope') },
    { authorization: basic('someone', env.BIZMON_BRIDGE_PASSWORD) },
    { authorization: `Basic ${env.BIZMON_BRIDGE_PASSWORD}` },
    { authorization: `Bearer ${env.BIZMON_BRIDGE_PASSWORD}` },
  ];
  for (const [i, h] of wrong.entries()) {
    const res = await post(b.url, h, `Forged${i}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="bizmon-alert-bridge", Basic realm="bizmon-alert-bridge", charset="UTF-8"',
    );
  }
  expect(readdirSync(path.join(dir, 'data', 'pending'))).toEqual([]);

  const right: Array<Record<string, string>> = [
    { authorization: `Bearer ${env.BIZMON_BRIDGE_TOKEN}` },
    { authorization: `bearer ${env.BIZMON_BRIDGE_TOKEN}` },
    { authorization: `BEARER ${env.BIZMON_BRIDGE_TOKEN}` },
    { authorization: basic('alertmanager', env.BIZMON_BRIDGE_PASSWORD) },
  ];
  for (const [i, h] of right.entries()) {
    expect((await post(b.url, h, `Genuine${i}`)).status).toBe(200);
  }
  await waitFor(() => [0, 1, 2, 3].every((i) => occurrences(webhook, `Genuine${i}`) === 1));
  for (let i = 0; i < wrong.length; i++) expect(occurrences(webhook, `Forged${i}`)).toBe(0);

  // /health stays open for probes; /metrics counts the refusals.
  expect((await fetch(`${b.url}/health`)).status).toBe(200);
  const metrics = await (await fetch(`${b.url}/metrics`)).text();
  expect(metrics).toContain(`bizmon_bridge_requests_total{code="401"} ${wrong.length}`);
  const log = b.lines.join('\n');
  for (const s of Object.values(env)) expect(log).not.toContain(s);
  // Rate-limited: the first refusal is logged, the rest are counted into one later line.
  expect(b.lines.filter((l) => l.includes('rejected (401)'))).toHaveLength(1);
});

test('bearer only: basic credentials are not accepted, and the challenge names Bearer only', async () => {
  const b = await startBridge(
    tempDir('bridge-auth-bearer'),
    yaml('auth: { bearerToken: "${BIZMON_BRIDGE_TOKEN}" }'),
    env,
  );
  bridges.push(b);
  const res = await post(
    b.url,
    { authorization: basic('alertmanager', env.BIZMON_BRIDGE_TOKEN) },
    'X',
  );
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer realm="bizmon-alert-bridge"');
  expect(
    (await post(b.url, { authorization: `Bearer ${env.BIZMON_BRIDGE_TOKEN}` }, 'Y')).status,
  ).toBe(200);
});

test('a non-loopback address without auth refuses to start and says why; insecure: true allows it', async () => {
  const dir = tempDir('bridge-auth-open');
  await expect(startBridge(dir, yaml('', '0.0.0.0:0'))).rejects.toThrow(
    /exited with 2[\s\S]*auth: listen 0\.0\.0\.0:0 is reachable from other hosts[\s\S]*insecure: true/,
  );
  await expect(startBridge(dir, yaml('', '[::]:0'))).rejects.toThrow(/exited with 2/);
  // Validated without binding a public port in the test.
  const file = path.join(dir, 'insecure.yml');
  writeFileSync(file, yaml('insecure: true', '0.0.0.0:9095'));
  expect(loadBridgeConfig(file).insecure).toBe(true);
  writeFileSync(file, yaml('auth: { bearerToken: short }', '0.0.0.0:9095'));
  expect(() => loadBridgeConfig(file)).toThrow(/auth\.bearerToken: at least 16 characters/);
  // Loopback needs no auth (only local processes can post).
  for (const listen of ['127.0.0.1:9095', 'localhost:9095', '[::1]:9095']) {
    writeFileSync(file, yaml('', listen));
    expect(loadBridgeConfig(file).auth).toBeUndefined();
  }
});
