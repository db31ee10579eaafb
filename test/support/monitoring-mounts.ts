/**
 * Test support: the three places bizmon answers monitoring requests from inside an app's process,
 * for tests that attack each the same way. All run test/fixtures/monitoring-app.cjs preloaded.
 */
import { join } from 'node:path';
import type { RunningApp } from './apps';

export const MONITORING_APP = join(__dirname, '..', 'fixtures', 'monitoring-app.cjs');

export interface MonitoringMount {
  name: string;
  env: Record<string, string>;
  /** The port to attack. */
  port: (app: RunningApp) => number;
  /** Path prefix of `/metrics`, `/health`, `/stats` there. */
  prefix: string;
  /** Whether the whole server is bizmon's (so CONNECT, which no handler sees, is ours too). */
  wholeServer: boolean;
}

export const MONITORING_MOUNTS: MonitoringMount[] = [
  {
    name: "a preloaded app's exporter",
    env: { MONITORING_APP: 'plain' },
    port: (app) => app.exporterPort,
    prefix: '',
    wholeServer: true,
  },
  {
    name: 'createMonitoringHandler in a node:http app',
    env: { MONITORING_APP: 'plain' },
    port: (app) => app.port,
    prefix: '/monitoring',
    wholeServer: false,
  },
  {
    name: 'createMonitoringHandler in an Express app',
    env: { MONITORING_APP: 'express' },
    port: (app) => app.port,
    prefix: '/monitoring',
    wholeServer: false,
  },
];
