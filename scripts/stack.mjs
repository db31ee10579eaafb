#!/usr/bin/env node
/**
 * `npm run stack`: the whole monitoring chain on loopback — Prometheus with deploy/'s rules,
 * Alertmanager with deploy/'s routes, bizmon-alert-bridge and the demo app — from the Debian
 * binaries. deploy/'s files are copied with only their addresses rewritten (rules are loaded
 * from deploy/ as they are), so what runs here is what ships. Ctrl-C stops everything.
 *
 * The end-to-end test (test/e2e-alerts.test.ts) runs this same CLI with --free-ports --json.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEPLOY = join(ROOT, 'deploy');

/** Default ports: those of deploy/ (and of the demo), so URLs match the docs. */
export const DEFAULT_PORTS = Object.freeze({
  prometheus: 9090,
  alertmanager: 9093,
  bridge: 9095,
  demo: 3000,
  exporter: 9464,
});

/** Where each host name of deploy/'s docker-compose layout lives in the stack. */
const HOSTS = {
  app: 'exporter',
  bridge: 'bridge',
  alertmanager: 'alertmanager',
  prometheus: 'prometheus',
  localhost: 'prometheus',
};

const INSTALL_HINT =
  'Install the Debian packages (sudo apt-get install prometheus prometheus-alertmanager), ' +
  'or run the containerised stack: docker compose -f deploy/docker-compose.yml up --build';

function which(names) {
  for (const name of names) {
    try {
      const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

/** The binaries the stack needs, or the names of those missing. */
export function findBinaries() {
  const prometheus = which(['prometheus']);
  // Debian ships Alertmanager as prometheus-alertmanager; upstream tarballs as alertmanager.
  const alertmanager = which(['prometheus-alertmanager', 'alertmanager']);
  const missing = [
    ...(prometheus ? [] : ['prometheus']),
    ...(alertmanager ? [] : ['prometheus-alertmanager']),
  ];
  return { prometheus, alertmanager, missing };
}

/** Binds 127.0.0.1:port for a moment: that port (a free one for 0), or undefined if taken. */
function probePort(port) {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(undefined));
    s.listen(port, '127.0.0.1', () => {
      const bound = s.address().port;
      s.close(() => ok(bound));
    });
  });
}

/** Rewrites a docker-compose `host:port` to the stack's loopback address. */
function localAddress(target, ports) {
  const host = target.replace(/:\d+$/, '');
  const service = HOSTS[host];
  if (!service) throw new Error(`deploy/ refers to ${target}; the stack does not know that host`);
  return `127.0.0.1:${ports[service]}`;
}

/** deploy/prometheus/prometheus.yml with loopback addresses and deploy/'s rule files. */
export function prometheusConfig(ports, scrapeInterval) {
  const dir = join(DEPLOY, 'prometheus');
  const cfg = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8'));
  cfg.rule_files = cfg.rule_files.map((f) => resolve(dir, f));
  if (scrapeInterval) {
    cfg.global.scrape_interval = scrapeInterval;
    cfg.global.evaluation_interval = scrapeInterval;
  }
  const rewrite = (sc) => ({ ...sc, targets: sc.targets.map((t) => localAddress(t, ports)) });
  for (const am of cfg.alerting.alertmanagers) am.static_configs = am.static_configs.map(rewrite);
  for (const job of cfg.scrape_configs) job.static_configs = job.static_configs.map(rewrite);
  return stringify(cfg);
}

/**
 * deploy/alertmanager/alertmanager.yml with the bridge's loopback address and, when given, the
 * file holding the bridge's token (deploy/ mounts it at /etc/alertmanager/secrets/bridge-token).
 */
export function alertmanagerConfig(ports, tokenFile) {
  const cfg = parse(readFileSync(join(DEPLOY, 'alertmanager', 'alertmanager.yml'), 'utf8'));
  // Receivers share their webhook list through a YAML alias: rewrite each object once.
  const hooks = new Set(cfg.receivers.flatMap((r) => r.webhook_configs ?? []));
  for (const hook of hooks) {
    const url = new URL(hook.url);
    hook.url = `http://${localAddress(url.host, ports)}${url.pathname}`;
    if (tokenFile && hook.http_config?.authorization?.credentials_file)
      hook.http_config.authorization.credentials_file = tokenFile;
  }
  return stringify(cfg);
}

/**
 * A bridge config (deploy/bridge/bridge.yml unless given) listening on loopback, data in `dir`,
 * taking only Alertmanager's token (from `tokenFile`, as deploy/ does).
 */
function bridgeConfig(file, ports, dir, tokenFile) {
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.listen = `127.0.0.1:${ports.bridge}`;
  cfg.dataDir = join(dir, 'bridge');
  cfg.auth = { bearerTokenFile: tokenFile };
  return stringify(cfg);
}

/** Prints what reaches deploy's demo webhook channel, so `npm run stack` shows its alerts. */
async function startAlertPrinter(log) {
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      try {
        const body = JSON.parse(raw);
        log(`[alert] ${body.title ?? body.alert_name ?? 'notification'}`);
      } catch {
        log('[alert] (unreadable notification)');
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

function tail(file) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

async function waitUntil(what, check, child, logFile, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const failed = (how) => new Error(`${what} ${how}; the end of its log:\n${tail(logFile)}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      await new Promise((r) => setTimeout(r, 100)); // let its last output reach the log
      throw failed(`exited (${child.exitCode ?? child.signalCode})`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw failed('did not get ready in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

const httpOk = (url) => async () => (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;

/**
 * Starts the stack. Options: `ports` (partial; `'free'` for free ports), `dataDir` (kept;
 * default a temp folder removed on stop), `bridgeConfig` (a bridge YAML file; its listen and
 * dataDir are replaced), `demoArgs`, `scrapeInterval` (also the evaluation interval),
 * `log` (line printer). Resolves once every part answers; `stop()` stops them all.
 */
export async function startStack(options = {}) {
  const log = options.log ?? ((line) => console.log(line));
  const bins = findBinaries();
  if (bins.missing.length) {
    throw Object.assign(new Error(`missing ${bins.missing.join(' and ')}. ${INSTALL_HINT}`), {
      code: 'MISSING_BINARIES',
    });
  }
  const ports = { ...DEFAULT_PORTS };
  const chosen = new Set();
  for (const name of Object.keys(ports)) {
    const wanted = options.ports === 'free' ? 0 : (options.ports?.[name] ?? ports[name]);
    let port;
    // Free ports are released before use, so the next pick could repeat one: pick again.
    do port = await probePort(wanted);
    while (wanted === 0 && chosen.has(port));
    if (port === undefined || chosen.has(port)) {
      throw new Error(`port ${wanted} (${name}) is in use; stop what holds it or use --free-ports`);
    }
    chosen.add(port);
    ports[name] = port;
  }

  const dir = options.dataDir
    ? resolve(options.dataDir)
    : mkdtempSync(join(tmpdir(), 'bizmon-stack-'));
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const children = [];
  const closers = [];
  let stopped;

  const run = (name, command, args, env = {}, cwd = dir) => {
    const logFile = join(dir, 'logs', `${name}.log`);
    const out = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches only the stack, which stops the parts in order.
      detached: true,
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.exited = new Promise((ok) => child.once('exit', (code, signal) => ok(code ?? signal)));
    child.exited.then(() => out.end());
    child.once('exit', (code, signal) => {
      if (!stopped) log(`[stack] ${name} exited unexpectedly (${code ?? signal}); see ${logFile}`);
    });
    children.push({ name, child });
    return { child, logFile };
  };

  // Last resort if the stack dies without stopping them (an uncaught error, process.exit).
  process.once('exit', () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  const stop = async () => {
    stopped ??= (async () => {
      // The demo first, so no traffic hits a half-stopped chain; then the chain downstream.
      for (const { child } of [...children].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await child.exited;
        clearTimeout(timer);
      }
      for (const close of closers) await close();
      if (!options.dataDir) rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    // The bridge's token, as deploy/'s bridge-token service makes it for docker compose.
    const tokenFile = join(dir, 'bridge-token');
    writeFileSync(tokenFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    writeFileSync(join(dir, 'alertmanager.yml'), alertmanagerConfig(ports, tokenFile));
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(ports, options.scrapeInterval));

    const bridgeEnv = {};
    if (!options.bridgeConfig && !process.env.BIZMON_ALERT_WEBHOOK_URL) {
      const printer = await startAlertPrinter(log);
      closers.push(printer.close);
      bridgeEnv.BIZMON_ALERT_WEBHOOK_URL = printer.url;
    }
    writeFileSync(
      join(dir, 'bridge.yml'),
      bridgeConfig(
        options.bridgeConfig ?? join(DEPLOY, 'bridge', 'bridge.yml'),
        ports,
        dir,
        tokenFile,
      ),
    );
    const bridge = run(
      'bridge',
      process.execPath,
      [join(ROOT, 'packages/alerting/dist/bridge/cli.js'), '--config', join(dir, 'bridge.yml')],
      bridgeEnv,
    );

    const am = run('alertmanager', bins.alertmanager, [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'alertmanager')}`,
      `--web.listen-address=127.0.0.1:${ports.alertmanager}`,
      `--web.external-url=http://127.0.0.1:${ports.alertmanager}`,
      // A single instance: no gossip port (it would bind 0.0.0.0:9094).
      '--cluster.listen-address=',
    ]);

    const prom = run('prometheus', bins.prometheus, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus')}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
      `--web.external-url=http://127.0.0.1:${ports.prometheus}`,
    ]);

    const demo = run(
      'demo',
      process.execPath,
      [
        '--require',
        '@bizmon/node/register',
        join(ROOT, 'packages/demo/dist/main.js'),
        ...(options.demoArgs ?? []),
      ],
      {
        HOST: '127.0.0.1',
        PORT: String(ports.demo),
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(ports.exporter),
      },
      // --require resolves @bizmon/node from here.
      join(ROOT, 'packages/demo'),
    );
    let demoOut = '';
    demo.child.stdout.on('data', (d) => (demoOut += d));

    const base = (port) => `http://127.0.0.1:${port}`;
    await Promise.all([
      waitUntil(
        'bizmon-alert-bridge',
        httpOk(`${base(ports.bridge)}/health`),
        bridge.child,
        bridge.logFile,
      ),
      waitUntil(
        'Alertmanager',
        httpOk(`${base(ports.alertmanager)}/-/ready`),
        am.child,
        am.logFile,
      ),
      waitUntil(
        'Prometheus',
        httpOk(`${base(ports.prometheus)}/-/ready`),
        prom.child,
        prom.logFile,
      ),
      // The embedded PostgreSQL's first start (initdb) takes a while.
      waitUntil(
        'the demo',
        async () => /READY \d+/.test(demoOut),
        demo.child,
        demo.logFile,
        120_000,
      ),
    ]);
    const urls = {
      demo: base(ports.demo),
      metrics: `${base(ports.exporter)}/metrics`,
      prometheus: base(ports.prometheus),
      alertmanager: base(ports.alertmanager),
      bridge: base(ports.bridge),
    };
    return {
      urls,
      ports,
      dataDir: dir,
      pids: children.map(({ child }) => child.pid),
      stop,
      /** Resolves with the name of the first part that exits. */
      anyExit: Promise.race(children.map(({ name, child }) => child.exited.then(() => name))),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const USAGE = `usage: npm run stack -- [options] [-- demo options]
  --free-ports            pick free ports instead of ${Object.entries(DEFAULT_PORTS)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}
  --<part>-port N         one part's port (part: ${Object.keys(DEFAULT_PORTS).join(', ')})
  --data-dir DIR          keep data and logs in DIR (default: a temp folder, removed on exit)
  --bridge-config FILE    bizmon-alert-bridge config (default deploy/bridge/bridge.yml, whose
                          demo webhook prints alerts here unless BIZMON_ALERT_WEBHOOK_URL is set)
  --scrape-interval 15s   scrape and rule evaluation interval (default: deploy/'s, 15s)
  --json                  print one line "STACK {json}" when ready (for scripts and tests)
demo options: --no-traffic`;

function parseArgs(argv) {
  const options = { ports: {} };
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (argv[i + 1] === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    const port = /^--(\w+)-port$/.exec(a);
    if (a === '--') {
      options.demoArgs = argv.slice(i + 1);
      break;
    } else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--free-ports') options.ports = 'free';
    else if (a === '--json') json = true;
    else if (a === '--data-dir') options.dataDir = value();
    else if (a === '--bridge-config') options.bridgeConfig = resolve(value());
    else if (a === '--scrape-interval') options.scrapeInterval = value();
    else if (port && port[1] in DEFAULT_PORTS && options.ports !== 'free') {
      options.ports[port[1]] = Number(value());
    } else if (a === '--no-traffic') options.demoArgs = [...(options.demoArgs ?? []), a];
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return { options, json };
}

async function main() {
  const { options, json } = parseArgs(process.argv.slice(2));
  const log = (line) => console.log(line);
  log('[stack] starting Prometheus, Alertmanager, bizmon-alert-bridge and the demo…');
  const stack = await startStack({ ...options, log });
  let stopping = false;
  const shutdown = async (why) => {
    if (stopping) return;
    stopping = true;
    log(`[stack] ${why}: stopping…`);
    await stack.stop();
    log('[stack] stopped');
    process.exit(why.startsWith('SIG') ? 0 : 1);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  void stack.anyExit.then((name) => shutdown(`${name} exited`));

  const u = stack.urls;
  log(
    `[stack] demo app      ${u.demo}   (faults: curl -X POST ${u.demo}/api/v1/admin/fault -H 'content-type: application/json' -d '{"httpErrorRate":0.3}')`,
  );
  log(`[stack] app metrics   ${u.metrics}`);
  log(`[stack] Prometheus    ${u.prometheus}   (alerts: ${u.prometheus}/alerts)`);
  log(`[stack] Alertmanager  ${u.alertmanager}`);
  log(`[stack] alert bridge  ${u.bridge}/health`);
  log(`[stack] data and logs ${stack.dataDir}${options.dataDir ? '' : ' (removed on exit)'}`);
  log('[stack] press Ctrl-C to stop everything');
  if (json)
    log(
      `STACK ${JSON.stringify({ urls: u, ports: stack.ports, dataDir: stack.dataDir, pids: stack.pids })}`,
    );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(`[stack] ${err.message}`);
    process.exit(err.code === 'MISSING_BINARIES' ? 3 : 1);
  });
}
