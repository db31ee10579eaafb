/**
 * Issue #13, siblings of finding 1 on the exporter and createMonitoringHandler: methods (HEAD
 * served without a body; OPTIONS, CONNECT and unknown methods 405 with `Allow`) and request
 * bodies, which the endpoints never read: an endless one is not drained, the connection closes
 * after the answer. Raw sockets, against running preloaded apps.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { startApp, type RunningApp } from './support/apps';
import { MONITORING_APP, MONITORING_MOUNTS } from './support/monitoring-mounts';
import { headerOf, sendRaw } from './support/raw-http';

const fixtures = join(__dirname, 'fixtures');

/**
 * Sends `head`, then body bytes without end (raw, or as 64 KiB chunks when `chunked`) until the
 * server closes the connection, or `limitMs` passes.
 */
function streamEndlessBody(
  port: number,
  head: string,
  chunked: boolean,
  limitMs = 10_000,
): Promise<{ response: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    // allowHalfOpen: like an attacker, keep sending after the server's FIN.
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const data = Buffer.alloc(64 * 1024, 'a');
    const chunk = chunked
      ? Buffer.concat([Buffer.from('10000\r\n'), data, Buffer.from('\r\n')])
      : data;
    let response = '';
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, closedByServer });
    };
    const timer = setTimeout(() => finish(false), limitMs);
    const pump = (): void => {
      while (!done && socket.writable && socket.write(chunk));
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
    socket.on('drain', pump);
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

/** Everything the server sends for `request` until it closes the connection. */
function fullResponse(port: number, request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let response = '';
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve(response));
  });
}

describe.each(MONITORING_MOUNTS)('$name', ({ env, port, prefix }) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(MONITORING_APP, { env });
  });
  afterAll(() => app.stop());

  test('HEAD is served without a body; OPTIONS and other methods are 405 with Allow', async () => {
    const head = await fullResponse(
      port(app),
      `HEAD ${prefix}/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(headerOf(head, 'content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(head.slice(head.indexOf('\r\n\r\n') + 4)).toBe('');
    for (const route of ['metrics', 'health', 'stats']) {
      // node's parser refuses methods it does not know (400); these it knows and passes on.
      const methods = ['OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND', 'PURGE'];
      for (const method of methods) {
        const answer = await sendRaw(
          port(app),
          `${method} ${prefix}/${route} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        expect({ method, route, status: answer.status }).toEqual({ method, route, status: 405 });
        if (answer.status !== undefined) expect(headerOf(answer.head, 'allow')).toBe('GET, HEAD');
      }
    }
  });

  test.each([
    ['POST', 'content-length: 100000000000'],
    ['GET', 'transfer-encoding: chunked'],
  ])(
    '%s with an endless body (%s) is answered and the connection closed',
    async (method, framing) => {
      const { response, closedByServer } = await streamEndlessBody(
        port(app),
        `${method} ${prefix}/metrics HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n`,
        framing.startsWith('transfer-encoding'),
      );
      expect(response).toMatch(method === 'GET' ? /^HTTP\/1\.1 200 / : /^HTTP\/1\.1 405 /);
      expect(closedByServer).toBe(true);
    },
  );
});

test('the exporter answers CONNECT with 405 and Allow rather than dropping it', async () => {
  const app = await startApp(join(fixtures, 'plain-app.cjs'));
  try {
    for (const target of ['127.0.0.1:443', '/metrics']) {
      const answer = await sendRaw(
        app.exporterPort,
        `CONNECT ${target} HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      expect(answer.status).toBe(405);
      if (answer.status !== undefined) expect(headerOf(answer.head, 'allow')).toBe('GET, HEAD');
    }
  } finally {
    await app.stop();
  }
});
