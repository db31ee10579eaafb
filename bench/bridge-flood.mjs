// Issue #13, finding 3: a flood of large warning alerts, then one critical alert.
// Starts bizmon-alert-bridge (its built CLI, or --cli <path> for another build) with a DingTalk
// stand-in that allows 20 messages a minute (errcode 130101 beyond), posts --posts (300) webhook
// payloads of --kb (900) KB each, then one critical alert, and prints one `RESULT {json}` line:
// the outbox size on disk after the flood, the bridge's peak RSS (VmHWM), and the seconds from the
// critical alert's 200 to the stand-in receiving it (null if not within --max-wait-s, 1200).
//
//   npx tsc -b && node bench/bridge-flood.mjs
//   node bench/bridge-flood.mjs --legacy-config --cli <a build before issue #13>/dist/bridge/cli.js
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const ROOT = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const CLI = arg('cli', path.join(ROOT, 'packages/alerting/dist/bridge/cli.js'));
const POSTS = Number(arg('posts', '300'));
const KB = Number(arg('kb', '900'));
const MAX_WAIT_S = Number(arg('max-wait-s', '1200'));
const log = (m) => process.stderr.write(`[bridge-flood] ${m}\n`);

// DingTalk stand-in: 20 messages in any 60 s window, like the real robot.
const received = [];
const sent = [];
const robot = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    while (sent.length && sent[0] <= now - 60_000) sent.shift();
    let answer = { errcode: 0, errmsg: 'ok' };
    if (sent.length >= 20) answer = { errcode: 130101, errmsg: 'send too fast' };
    else {
      sent.push(now);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      received.push({ at: now, text: body.markdown?.text ?? '' });
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
});
await new Promise((r) => robot.listen(0, '127.0.0.1', r));
const robotUrl = `http://127.0.0.1:${robot.address().port}/robot/send?access_token=t`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'bizmon-bridge-flood-'));
const TOKEN = 'flood-bench-token';
// --legacy-config: without `auth`, which a bridge from before issue #13 rejects as unknown.
const legacy = process.argv.includes('--legacy-config');
writeFileSync(
  path.join(dir, 'bridge.yml'),
  `listen: 127.0.0.1:0
dataDir: ./data
language: en
${legacy ? '' : `auth: { bearerToken: ${TOKEN} }\n`}channels:
  oncall: { type: dingtalk, webhookUrl: "${robotUrl}" }
routes:
  - channels: [oncall]
`,
);
const proc = spawn(process.execPath, [CLI, '--config', path.join(dir, 'bridge.yml')], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const lines = [];
const url = await new Promise((resolve, reject) => {
  let buf = '';
  const onData = (d) => {
    buf += d;
    const m = /listening on (http:\/\/\S+)/.exec(buf);
    if (m) resolve(m[1]);
  };
  proc.stdout.setEncoding('utf8').on('data', onData);
  proc.stderr.setEncoding('utf8').on('data', (d) => {
    lines.push(d);
    onData(d);
  });
  proc.once('exit', (c) => reject(new Error(`bridge exited ${c}: ${buf}`)));
});

const peakRss = () => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
};
const dirBytes = (d) => {
  let total = 0;
  for (const f of readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, f.name);
    total += f.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
};
const payload = (name, severity, summary) =>
  JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="${name}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'bridge',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: name, severity },
        annotations: { summary },
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: name,
      },
    ],
  });
const post = async (body) => {
  const res = await fetch(`${url}/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body,
  });
  await res.text();
  return res.status;
};

const t0 = Date.now();
const big = 'x'.repeat(KB * 1024);
const statuses = {};
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < POSTS) {
      const i = next++;
      const s = await post(payload(`Flood${i}`, 'warning', big));
      statuses[s] = (statuses[s] ?? 0) + 1;
    }
  }),
);
const floodS = (Date.now() - t0) / 1000;
const outboxBytes = dirBytes(path.join(dir, 'data'));
log(
  `flood of ${POSTS} × ${KB} KB posted in ${floodS} s: ${JSON.stringify(statuses)}; outbox ${outboxBytes} bytes`,
);
const criticalStatus = await post(payload('RealPage', 'critical', 'the real page'));
const tc = Date.now();
let criticalS = null;
while (Date.now() - tc < MAX_WAIT_S * 1000) {
  const hit = received.find((r) => r.text.includes('RealPage'));
  if (hit) {
    criticalS = (hit.at - tc) / 1000;
    break;
  }
  await new Promise((r) => setTimeout(r, 200));
}
const result = {
  posts: POSTS,
  kbPerPost: KB,
  statuses,
  floodSeconds: floodS,
  outboxBytesAfterFlood: outboxBytes,
  peakRssBytes: peakRss(),
  criticalStatus,
  criticalDeliveredAfterSeconds: criticalS,
  messagesBeforeCritical: received.findIndex((r) => r.text.includes('RealPage')),
  maxWaitSeconds: MAX_WAIT_S,
};
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
proc.kill('SIGKILL');
robot.closeAllConnections();
robot.close();
rmSync(dir, { recursive: true, force: true });
