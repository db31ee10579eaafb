/**
 * One `/metrics` for a clustered service (packages/node/README.md, "Clustered services"): a
 * preloaded node:cluster service and a PM2 cluster-mode service, three workers each, serve one
 * exporter whose counters and histograms are the sums over the workers.
 */
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_NODE, freePort, get, startApp } from './support/apps';
import {
  expectMatchesCatalog,
  parseExposition,
  promtoolFindings,
  PROM_CLIENT_NAME_LINTS,
  sampleValue,
} from './support/exposition';
import { hasBinary } from './support/env';

const fixtures = join(__dirname, 'fixtures');
const root = join(__dirname, '..');
const WORKERS = 3;
const N = 60;

/** GETs `path` on a fresh connection (no keep-alive), so requests spread over the workers. */
function getPid(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve((JSON.parse(body) as { pid: number }).pid));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Sends `n` requests, four at a time; returns the pid that answered each. */
async function spread(port: number, n: number, tag: string): Promise<number[]> {
  const pids: number[] = [];
  for (let i = 0; i < n; i += 4) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 4); j++) batch.push(getPid(port, `/${tag}/${j}`));
    pids.push(...(await Promise.all(batch)));
  }
  return pids;
}

async function scrape(exporterPort: number): Promise<string> {
  const res = await get(`http://127.0.0.1:${exporterPort}/metrics`);
  expect(res.status).toBe(200);
  return res.body;
}

/** http_requests_total and the request histogram's _count, summed over every label set. */
function requestTotals(body: string): { requests: number; observed: number } {
  const families = parseExposition(body);
  return {
    requests: sampleValue(families, 'http_requests_total'),
    observed: sampleValue(families, 'http_request_duration_seconds_count'),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of the process listening on TCP `port` (from `ss`). */
function listenerPid(port: number): number {
  const out = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' }).stdout;
  const m = /pid=(\d+)/.exec(out);
  if (!m) throw new Error(`no process listens on ${port}: ${out}`);
  return Number(m[1]);
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The assertions both cluster kinds share, once the service answers on `port`. */
async function expectOneExporter(port: number, exporterPort: number): Promise<void> {
  const pids = await spread(port, N, 'orders');
  // The requests did spread: every worker answered some.
  expect(new Set(pids).size).toBe(WORKERS);

  // Every scrape, whichever process it reaches, sees every worker's requests.
  for (let i = 0; i < 3; i++) {
    expect(requestTotals(await scrape(exporterPort))).toEqual({ requests: N, observed: N });
  }
  const body = await scrape(exporterPort);
  const families = expectMatchesCatalog(body.replace(/,?worker="[^"]*"/g, ''));
  // Gauges are per worker: one heap gauge per live process that reports.
  const heap = parseExposition(body).get('nodejs_heap_size_used_bytes')!.samples;
  expect(new Set(heap.map((s) => s.labels.worker)).size).toBeGreaterThanOrEqual(WORKERS);
  expect(families.get('http_requests_total')!.samples.length).toBeGreaterThan(0);

  // A worker killed without warning keeps its counts.
  const victim = pids[0]!;
  process.kill(victim, 'SIGKILL');
  await waitFor(`worker ${victim} to exit`, () => !alive(victim));
  expect(requestTotals(await scrape(exporterPort))).toEqual({ requests: N, observed: N });
  // Its gauges left with it.
  const after = parseExposition(await scrape(exporterPort));
  expect(after.get('nodejs_heap_size_used_bytes')!.samples.length).toBe(heap.length - 1);

  // The survivors go on counting.
  await spread(port, 8, 'after');
  expect(requestTotals(await scrape(exporterPort))).toEqual({ requests: N + 8, observed: N + 8 });
}

describe('a node:cluster service preloaded with @bizmon/node/register', () => {
  test(`serves one /metrics summed over ${WORKERS} workers, keeping a killed worker's counts`, async () => {
    const app = await startApp(join(fixtures, 'cluster-app.cjs'), {
      env: { WORKERS: String(WORKERS) },
    });
    try {
      await expectOneExporter(app.port, app.exporterPort);
      expect(app.output()).not.toMatch(/EADDRINUSE|could not listen/);

      // The merged families in the other formats too, and valid for promtool.
      const openMetrics = await get(`http://127.0.0.1:${app.exporterPort}/metrics`, {
        accept: 'application/openmetrics-text; version=1.0.0',
      });
      // OpenMetrics names the counter family `http_requests`; its samples keep `_total`.
      const omFamily = parseExposition(openMetrics.body).get('http_requests')!;
      const omTotal = omFamily.samples
        .filter((x) => x.name === 'http_requests_total')
        .reduce((sum, x) => sum + x.value, 0);
      expect(omTotal).toBe(N + 8);
      expect(openMetrics.body.endsWith('# EOF\n')).toBe(true);
      if (hasBinary('promtool')) {
        expect(promtoolFindings(await scrape(app.exporterPort))).toEqual(PROM_CLIENT_NAME_LINTS);
      }

      // The channel is private: a 0700 directory of this user, a 0600 socket.
      const dir = join(tmpdir(), `bizmon-${process.getuid!()}`);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const socket = statSync(join(dir, `exporter-${app.exporterPort}.sock`));
      expect(socket.isSocket()).toBe(true);
      expect(socket.mode & 0o777).toBe(0o600);
    } finally {
      await app.stop();
    }
  }, 30_000);

  test('a worker that binds the port before a busy primary serves, the primary reporting to it', async () => {
    const app = await startApp(join(fixtures, 'cluster-app.cjs'), {
      env: { WORKERS: String(WORKERS), PRIMARY_WAITS: '1' },
    });
    try {
      await waitFor('a process to hold the exporter port', () => {
        try {
          return listenerPid(app.exporterPort) > 0;
        } catch {
          return false;
        }
      });
      // The race went the workers' way: the holder is not the primary.
      expect(listenerPid(app.exporterPort)).not.toBe(app.child.pid);
      await spread(app.port, 24, 'race');
      expect(requestTotals(await scrape(app.exporterPort))).toEqual({ requests: 24, observed: 24 });
      // The primary's own series are there too, as a reporting process's.
      const heap = parseExposition(await scrape(app.exporterPort)).get(
        'nodejs_heap_size_used_bytes',
      )!;
      expect(heap.samples.map((x) => x.labels.worker)).toContain('primary');
      expect(app.output()).not.toMatch(/EADDRINUSE|could not listen/);
    } finally {
      await app.stop();
    }
  }, 30_000);

  test('a hung worker cannot stall the scrape: it counts as of its last answer', async () => {
    const app = await startApp(join(fixtures, 'cluster-app.cjs'), {
      env: { WORKERS: String(WORKERS) },
    });
    try {
      await spread(app.port, 12, 'before');
      expect(requestTotals(await scrape(app.exporterPort)).requests).toBe(12);
      const hung = await getPid(app.port, '/hang');
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      const body = await scrape(app.exporterPort);
      // The wait for workers is min(2 s, BIZMON_EXPORTER_TIMEOUT_MS / 2).
      expect(Date.now() - started).toBeLessThan(3500);
      // The hung worker's earlier requests are still in the total (its /hang may be too).
      expect(requestTotals(body).requests).toBeGreaterThanOrEqual(12);
      expect(alive(hung)).toBe(true);
      // Once it is back, it answers again and the total is exact.
      await new Promise((r) => setTimeout(r, 4500));
      expect(requestTotals(await scrape(app.exporterPort)).requests).toBe(13);
    } finally {
      await app.stop();
    }
  }, 30_000);

  test('BIZMON_CLUSTER=false leaves each process its own exporter, as before', async () => {
    const app = await startApp(join(fixtures, 'cluster-app.cjs'), {
      env: { WORKERS: String(WORKERS), BIZMON_CLUSTER: 'false' },
    });
    try {
      await spread(app.port, 12, 'plain');
      // The primary holds the port and serves only its own series: the workers could not bind.
      expect(requestTotals(await scrape(app.exporterPort)).requests).toBe(0);
      await waitFor('the workers to report the taken port', () => /EADDRINUSE/.test(app.output()));
    } finally {
      await app.stop();
    }
  }, 30_000);
});

describe('a PM2 cluster-mode service preloaded with @bizmon/node/register', () => {
  const pm2Home = mkdtempSync(join(tmpdir(), 'bizmon-pm2-'));
  const pm2Bin = join(root, 'node_modules', 'pm2', 'bin', 'pm2');
  const env = { ...process.env, PM2_HOME: pm2Home };
  const pm2 = (...args: string[]): string => {
    const run = spawnSync(APP_NODE, [pm2Bin, ...args], { cwd: root, env, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`pm2 ${args.join(' ')}: ${run.stdout}${run.stderr}`);
    return run.stdout;
  };

  afterAll(() => {
    // Always stop the daemon this suite started (its PM2_HOME is ours alone).
    spawnSync(APP_NODE, [pm2Bin, 'kill'], { cwd: root, env, encoding: 'utf8' });
    rmSync(pm2Home, { recursive: true, force: true });
  });

  test(`serves one /metrics summed over ${WORKERS} instances, keeping a killed one's counts`, async () => {
    const [port, exporterPort] = [await freePort(), await freePort()];
    const ecosystem = join(pm2Home, 'ecosystem.config.js');
    const app = {
      name: 'bizmon-cluster-test',
      script: join(fixtures, 'pm2-app.cjs'),
      cwd: root,
      instances: WORKERS,
      exec_mode: 'cluster',
      node_args: ['--require', '@bizmon/node/register'],
      // PM2 restarts a killed instance; the test wants to see the dead one's counts kept.
      autorestart: false,
      env: {
        APP_PORT: String(port),
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(exporterPort),
      },
    };
    writeFileSync(ecosystem, `module.exports = ${JSON.stringify({ apps: [app] })};`);
    pm2('start', ecosystem);
    await waitFor('the instances and the exporter to answer', async () => {
      try {
        await getPid(port, '/up');
        return (await get(`http://127.0.0.1:${exporterPort}/metrics`)).status === 200;
      } catch {
        return false;
      }
    });
    // Every instance is up (and has reported) once three distinct pids answer.
    await waitFor('every instance to listen', async () => {
      const pids = await spread(port, 12, 'up');
      return new Set(pids).size === WORKERS;
    });
    const warmup = requestTotals(await scrape(exporterPort)).requests;
    expect(warmup).toBeGreaterThan(0);
    // The warm-up requests count too: start the count from them.
    const base = warmup;
    const pids = await spread(port, N, 'orders');
    expect(new Set(pids).size).toBe(WORKERS);
    for (let i = 0; i < 3; i++) {
      expect(requestTotals(await scrape(exporterPort))).toEqual({
        requests: base + N,
        observed: base + N,
      });
    }
    // One heap gauge per instance, labelled with PM2's instance number.
    const heap = parseExposition(await scrape(exporterPort)).get('nodejs_heap_size_used_bytes')!;
    expect(heap.samples.map((s) => s.labels.worker).sort()).toEqual(['0', '1', '2']);
    // Kill an instance that does not hold the exporter's port (killing that one restarts the
    // count, as a restarted exporter does; README).
    const holder = listenerPid(exporterPort);
    expect(pids).toContain(holder);
    const victim = pids.find((pid) => pid !== holder)!;
    process.kill(victim, 'SIGKILL');
    await waitFor(`instance ${victim} to exit`, () => !alive(victim));
    expect(requestTotals(await scrape(exporterPort))).toEqual({
      requests: base + N,
      observed: base + N,
    });
    await spread(port, 8, 'after');
    expect(requestTotals(await scrape(exporterPort)).requests).toBe(base + N + 8);

    // When the instance holding the port dies, a survivor takes it over (its count restarts
    // from the survivors' own, as a restarted exporter's does).
    process.kill(holder, 'SIGKILL');
    await waitFor('a survivor to take the exporter over', async () => {
      try {
        return (await get(`http://127.0.0.1:${exporterPort}/metrics`)).status === 200;
      } catch {
        return false;
      }
    });
    expect(listenerPid(exporterPort)).not.toBe(holder);
    const logs = pm2('logs', '--nostream', '--lines', '200');
    expect(logs).not.toMatch(/EADDRINUSE|could not listen/);
  }, 30_000);
});
