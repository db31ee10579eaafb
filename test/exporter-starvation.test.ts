/**
 * Issue #13, finding 8: slow sockets on the exporter port must not take the app's own port
 * down. The app runs under `ulimit -n 1024`; 1,100 sockets drip header bytes to the exporter
 * and reopen whenever the server closes them. Figures before and after the fix:
 * bench/exporter-starvation.mjs.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { get, startApp } from './support/apps';

const SOCKETS = 1100;

/** Slow sockets that each send a request line and then one header byte a second, forever. */
function slowFlood(port: number): { closedByServer: () => number; stop: () => void } {
  const sockets = new Set<Socket>();
  let closedByServer = 0;
  let stopped = false;
  const open = (): void => {
    if (stopped) return;
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    s.on('connect', () => s.write('GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    s.on('close', () => {
      sockets.delete(s);
      if (stopped) return;
      closedByServer++;
      setTimeout(open, 100);
    });
    sockets.add(s);
  };
  for (let i = 0; i < SOCKETS; i++) open();
  const drip = setInterval(() => {
    for (const s of sockets) if (s.writable) s.write('a');
  }, 1000);
  return {
    closedByServer: () => closedByServer,
    stop: () => {
      stopped = true;
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    },
  };
}

test("1,100 slow sockets on the exporter leave the app's own port answering; a scrape works after", async () => {
  const app = await startApp(join(__dirname, 'fixtures', 'plain-app.cjs'), {
    openFiles: 1024,
    // The default limit (64 connections); a short time-out so the test need not wait 10 s.
    env: { BIZMON_EXPORTER_TIMEOUT_MS: '1000' },
  });
  const flood = slowFlood(app.exporterPort);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${app.port}/hello`, {
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, path: '/hello' });
      await new Promise((r) => setTimeout(r, 1000));
    }
    // Sockets over the limit were closed on arrival, and dripping ones at the time-out.
    expect(flood.closedByServer()).toBeGreaterThan(SOCKETS - 64);
    flood.stop();
    // Once the flood is gone the exporter serves again (a few retries while it drains).
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = await get(`http://127.0.0.1:${app.exporterPort}/metrics`).then(
        (r) => r.status,
        () => 0,
      );
    }
    expect(status).toBe(200);
    expect(app.child.exitCode).toBeNull();
    expect(app.output()).toContain('at its limit of 64 connections');
  } finally {
    flood.stop();
    await app.stop();
  }
});
