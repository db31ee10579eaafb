import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { instruments, resolveConfig, startTelemetry, type Telemetry } from '@bizmon/core';
import {
  abuseDetector,
  BizmonHttpInstrumentation,
  createMonitoringHandler,
  currentUserRole,
  onAuthenticatedRequest,
  recordLoginFailure,
  requestsInFlight,
  setRequestUser,
  setRoute,
  type AbuseDetection,
} from '@bizmon/http';

let telemetry: Telemetry;
let instrumentation: BizmonHttpInstrumentation;
let server: Server;
let base: string;
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();

beforeAll(async () => {
  telemetry = await startTelemetry(
    resolveConfig({ otelExporterPrometheusPort: 0, otelExporterPrometheusHost: '127.0.0.1' }),
  );
  instrumentation = new BizmonHttpInstrumentation();
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  instrumentation.disable();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await telemetry.shutdown();
});
afterEach(() => instrumentation.setConfig({}));

function count(
  labels: Partial<Record<'method' | 'endpoint' | 'status_code' | 'user_role', string>>,
): number {
  let total = 0;
  instruments.http_requests_total.forEach((s) => {
    const [method, endpoint, status_code, user_role] = s.labelValues;
    const actual: Record<string, string | undefined> = { method, endpoint, status_code, user_role };
    if (Object.entries(labels).every(([k, v]) => actual[k] === v)) total += s.value;
  });
  return total;
}

/** Sends a request and resolves once the server recorded it (the response's close ran). */
async function send(
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<number> {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
  for (let i = 0; i < 100 && requestsInFlight() > 0; i++)
    await new Promise((r) => setTimeout(r, 5));
  return status;
}

// This file imports @bizmon/http, which arms the request context, as an app's import does.
test('an app that imports @bizmon/http has a request context from its first request', async () => {
  const seen: boolean[] = [];
  handler = (_req, res) => {
    setRequestUser({ id: 'u-1', role: 'auditor' });
    seen.push(currentUserRole() === 'auditor');
    res.end();
  };
  await send('/first');
  await send('/second');
  expect(seen).toEqual([true, true]);
  expect(count({ endpoint: '/first', user_role: 'auditor' })).toBe(1);
  expect(count({ endpoint: '/second', user_role: 'auditor' })).toBe(1);
  expect(count({ endpoint: '/first', user_role: 'anonymous' })).toBe(0);
});

test('setRoute names the endpoint and setRequestUser the role, read after the handler', async () => {
  const roles: string[] = [];
  handler = (req, res) => {
    setTimeout(() => {
      setRoute('/reports/:name');
      setRequestUser({ id: 'u-7', role: 'auditor' });
      roles.push(currentUserRole());
      res.end('ok');
    }, 5);
  };
  await send('/reports/monthly-summary');
  expect(roles).toEqual(['auditor']);
  expect(count({ endpoint: '/reports/:name', user_role: 'auditor', status_code: '200' })).toBe(1);
});

test('req.user (numeric id) gives role and activity; a throwing listener changes nothing', async () => {
  const seen: string[] = [];
  const offBad = onAuthenticatedRequest(() => {
    throw new Error('listener bug');
  });
  const off = onAuthenticatedRequest((id) => seen.push(id));
  const roles: string[] = [];
  handler = (req, res) => {
    (req as IncomingMessage & { user?: unknown }).user = { id: 42, role: 'vip' };
    // Helpers called later in the request label with the same role as the HTTP metric.
    setImmediate(() => {
      roles.push(currentUserRole());
      res.end();
    });
  };
  await send('/orders/99');
  off();
  offBad();
  expect(roles).toEqual(['vip']);
  expect(seen).toEqual(['42']);
  expect(count({ endpoint: '/orders/:id', user_role: 'vip' })).toBe(1);
});

test('unknown methods fold into OTHER; ignored prefixes are not counted', async () => {
  handler = (_req, res) => res.end();
  await send('/dav/file', { method: 'PROPFIND' });
  expect(count({ method: 'OTHER', endpoint: '/dav/file' })).toBe(1);
  instrumentation.setConfig({ ignorePaths: ['/internal'] });
  await send('/internal/probe');
  expect(count({ endpoint: '/internal/probe' })).toBe(0);
});

test('a handler that never answers until the client leaves is counted 499 and leaves the gauge', async () => {
  const pending: ServerResponse[] = [];
  handler = (_req, res) => void pending.push(res);
  const req = request(`${base}/hang`);
  req.on('error', () => undefined);
  req.end();
  for (let i = 0; i < 100 && pending.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(requestsInFlight()).toBe(1);
  req.destroy();
  for (let i = 0; i < 100 && requestsInFlight() > 0; i++)
    await new Promise((r) => setTimeout(r, 5));
  expect(requestsInFlight()).toBe(0);
  expect(count({ endpoint: '/hang', status_code: '499' })).toBe(1);
});

test('recordLoginFailure takes the client address from the current request', async () => {
  const detections: AbuseDetection[] = [];
  const off = abuseDetector.onDetect((d) => detections.push(d));
  handler = (req, res) => {
    recordLoginFailure({ username: String(new URL(req.url!, base).searchParams.get('u')) });
    res.statusCode = 401;
    res.end();
  };
  for (let i = 0; i < 11; i++) await send(`/login?u=user${i}`);
  off();
  expect(detections.map((d) => [d.kind, d.client])).toEqual([
    ['credential_stuffing', 'ip:127.0.0.1'],
  ]);
  expect(() => recordLoginFailure({ username: 'outside-a-request' })).not.toThrow();
  expect(() => recordLoginFailure(null as unknown as { username: string })).not.toThrow();
});

test('the monitoring handler honours its prefix and Express-style mounting, and is not counted', async () => {
  const monitoring = createMonitoringHandler({ prefix: 'ops/' });
  expect(monitoring.prefix).toBe('/ops');
  expect(monitoring.routeOf('/ops/metrics?x=1')).toBe('metrics');
  expect(monitoring.routeOf('/monitoring/metrics')).toBeUndefined();
  let nextCalls = 0;
  handler = (req, res) => {
    // What Express does for app.use('/ops', handler): url stripped, originalUrl kept.
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
    req.url = req.url!.replace(/^\/ops/, '') || '/';
    if (!monitoring(req, res, () => nextCalls++)) res.end('app');
  };
  const before = count({});
  expect(await send('/ops/health')).toBe(200);
  expect(await send('/ops/metrics')).toBe(200);
  expect(await send('/ops/stats')).toBe(403);
  expect(count({})).toBe(before);
  expect(await send('/ops/other')).toBe(200);
  expect(nextCalls).toBe(1);
  expect(count({})).toBe(before + 1);
});

test('an answer a framework gave without a route is `unmatched` at any status; plain node:http keeps the path rule', async () => {
  // What Express does before routing (it sets originalUrl) and then for OPTIONS with no route:
  // 200 with an Allow header.
  handler = (req, res) => {
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
    if (req.url === '/orders/routed') setRoute('/orders/:name');
    res.setHeader('allow', 'GET,HEAD');
    res.end();
  };
  for (let i = 0; i < 20; i++)
    expect(await send(`/orders/x${i}y`, { method: 'OPTIONS' })).toBe(200);
  expect(count({ method: 'OPTIONS', endpoint: 'unmatched', status_code: '200' })).toBe(20);
  expect(await send('/orders/routed')).toBe(200);
  expect(count({ endpoint: '/orders/:name', status_code: '200' })).toBe(1);

  handler = (_req, res) => res.end();
  expect(await send('/plain/42/')).toBe(200);
  expect(count({ endpoint: '/plain/:id', status_code: '200' })).toBe(1);
});
