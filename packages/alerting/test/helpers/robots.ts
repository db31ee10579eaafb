/**
 * Local stand-ins for DingTalk, WeChat Work and Feishu robots and for a plain webhook receiver.
 * Each checks what the real service checks (token, signature and its one-hour timestamp window,
 * the 4096-byte markdown limit, 20 messages a minute) and answers in the platform's format.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** ok: answer; down: 503; hang: never answer; hold: answer once release() is called. */
export type Mode = 'ok' | 'down' | 'hang' | 'hold';

export interface Received {
  at: number;
  /** The message text (markdown body). */
  text: string;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export interface FakeServer {
  /** Base URL to configure as the webhook URL. */
  url: string;
  mode: Mode;
  received: Received[];
  /** Every answer that was not success, by code (or HTTP status for 'down'). */
  rejections: Array<number | string>;
  requests: number;
  /** Forgets the messages counted against the rate limit (as if the minute had passed). */
  resetRate(): void;
  /** Leaves 'hold' mode, answering held requests. */
  release(): void;
  close(): Promise<void>;
}

type Handler = (
  req: { url: URL; body: Record<string, unknown>; raw: string; headers: http.IncomingHttpHeaders },
  server: FakeServer,
) => { status: number; json: unknown; text?: string };

const HOUR_MS = 3_600_000;

function slidingWindow(fake: FakeServer, limit: number, perMs: number) {
  const sent: number[] = [];
  fake.resetRate = () => sent.splice(0);
  return () => {
    const now = Date.now();
    while (sent.length && sent[0]! <= now - perMs) sent.shift();
    if (sent.length >= limit) return false;
    sent.push(now);
    return true;
  };
}

async function startServer(handler: Handler): Promise<FakeServer> {
  const fake: FakeServer = {
    url: '',
    mode: 'ok',
    received: [],
    rejections: [],
    requests: 0,
    resetRate: () => undefined,
    release: () => undefined,
    close: async () => undefined,
  };
  let held: Array<() => void> = [];
  fake.release = () => {
    fake.mode = 'ok';
    const h = held;
    held = [];
    h.forEach((f) => f());
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      fake.requests++;
      if (fake.mode === 'hang') return;
      if (fake.mode === 'hold') await new Promise<void>((r) => held.push(r));
      if (fake.mode === 'down') {
        fake.rejections.push(503);
        res.writeHead(503).end('unavailable');
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end('bad json');
        fake.rejections.push(400);
        return;
      }
      const out = handler(
        { url: new URL(req.url ?? '/', 'http://x'), body, raw, headers: req.headers },
        fake,
      );
      if (out.status === 200 && out.text !== undefined) {
        fake.received.push({ at: Date.now(), text: out.text, body, headers: req.headers });
      } else {
        const j = out.json as Record<string, unknown>;
        fake.rejections.push((j?.errcode ?? j?.code ?? out.status) as number);
      }
      res
        .writeHead(out.status, { 'content-type': 'application/json' })
        .end(JSON.stringify(out.json));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}

export interface RobotOptions {
  token: string;
  secret?: string;
  /** Messages allowed per minute (default 20, as DingTalk and WeChat Work). */
  perMinute?: number;
  /** The window `perMinute` counts over, for tests that cannot wait a minute (default 60 000). */
  windowMs?: number;
}

/** DingTalk custom robot: /robot/send?access_token=…[&timestamp=…&sign=…]. */
export async function startDingTalk(
  opts: RobotOptions,
): Promise<FakeServer & { webhookUrl: string }> {
  let allow: () => boolean = () => true;
  const fake = await startServer(({ url, body }) => {
    const err = (errcode: number, errmsg: string) => ({ status: 200, json: { errcode, errmsg } });
    if (url.pathname !== '/robot/send' || url.searchParams.get('access_token') !== opts.token) {
      return err(300001, 'token is not exist');
    }
    if (opts.secret) {
      const ts = Number(url.searchParams.get('timestamp'));
      const sign = url.searchParams.get('sign');
      const expected = createHmac('sha256', opts.secret)
        .update(`${ts}\n${opts.secret}`)
        .digest('base64');
      if (!Number.isFinite(ts) || Math.abs(Date.now() - ts) > HOUR_MS)
        return err(310000, 'timestamp invalid');
      if (sign !== expected) return err(310000, 'sign not match');
    }
    const md = body.markdown as { title?: string; text?: string } | undefined;
    if (body.msgtype !== 'markdown' || !md?.title || !md.text)
      return err(40035, 'missing markdown');
    if (!allow()) return err(130101, 'send too fast, exceed 20 times per minute');
    return { status: 200, json: { errcode: 0, errmsg: 'ok' }, text: md.text };
  });
  allow = slidingWindow(fake, opts.perMinute ?? 20, opts.windowMs ?? 60_000);
  return Object.assign(fake, { webhookUrl: `${fake.url}/robot/send?access_token=${opts.token}` });
}

/** WeChat Work group robot: /cgi-bin/webhook/send?key=…; markdown content at most 4096 bytes. */
export async function startWeCom(opts: RobotOptions): Promise<FakeServer & { webhookUrl: string }> {
  let allow: () => boolean = () => true;
  const fake = await startServer(({ url, body }) => {
    const err = (errcode: number, errmsg: string) => ({ status: 200, json: { errcode, errmsg } });
    if (url.pathname !== '/cgi-bin/webhook/send' || url.searchParams.get('key') !== opts.token) {
      return err(93000, 'invalid webhook url');
    }
    if (!allow()) return err(45009, 'api freq out of limit');
    if (body.msgtype === 'text') {
      const t = body.text as { content?: string };
      return { status: 200, json: { errcode: 0, errmsg: 'ok' }, text: `TEXT:${t.content ?? ''}` };
    }
    const content = (body.markdown as { content?: string } | undefined)?.content;
    if (body.msgtype !== 'markdown' || !content) return err(44004, 'empty content');
    if (Buffer.byteLength(content, 'utf8') > 4096)
      return err(40058, 'markdown.content exceed max length 4096');
    return { status: 200, json: { errcode: 0, errmsg: 'ok' }, text: content };
  });
  allow = slidingWindow(fake, opts.perMinute ?? 20, 60_000);
  return Object.assign(fake, { webhookUrl: `${fake.url}/cgi-bin/webhook/send?key=${opts.token}` });
}

/** Feishu custom bot: /open-apis/bot/v2/hook/<token>, signature in the body. */
export async function startFeishu(
  opts: RobotOptions,
): Promise<FakeServer & { webhookUrl: string }> {
  let allow: () => boolean = () => true;
  const fake = await startServer(({ url, body }) => {
    const err = (code: number, msg: string) => ({ status: 200, json: { code, msg, data: {} } });
    if (url.pathname !== `/open-apis/bot/v2/hook/${opts.token}`) {
      return err(19001, 'param invalid: incoming webhook access token invalid');
    }
    if (opts.secret) {
      const ts = Number(body.timestamp);
      const expected = createHmac('sha256', `${ts}\n${opts.secret}`).update('').digest('base64');
      if (
        !Number.isFinite(ts) ||
        Math.abs(Date.now() / 1000 - ts) > 3600 ||
        body.sign !== expected
      ) {
        return err(19021, 'sign match fail or timestamp is not within one hour from current time');
      }
    }
    if (!allow()) return err(11232, 'frequency limited psm');
    const card = body.card as { elements?: Array<{ content?: string }> } | undefined;
    const text = card?.elements?.[0]?.content;
    if (body.msg_type !== 'interactive' || !text) return err(9499, 'Bad Request');
    return { status: 200, json: { code: 0, msg: 'success', data: {} }, text };
  });
  allow = slidingWindow(fake, opts.perMinute ?? 100, 60_000);
  return Object.assign(fake, { webhookUrl: `${fake.url}/open-apis/bot/v2/hook/${opts.token}` });
}

/** Plain webhook receiver; checks X-Bizmon-Signature when given a secret. */
export async function startWebhook(secret?: string): Promise<FakeServer> {
  return startServer(({ raw, body, headers }) => {
    if (secret) {
      const expected = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
      if (headers['x-bizmon-signature'] !== expected)
        return { status: 401, json: { error: 'bad signature' } };
    }
    return { status: 200, json: { ok: true }, text: String(body.text ?? '') };
  });
}

/** How many times `needle` occurs across all received messages. */
export function occurrences(fake: FakeServer, needle: string): number {
  return fake.received.reduce((n, r) => n + r.text.split(needle).length - 1, 0);
}

/** Polls until `cond` holds (or throws after `timeoutMs`). */
export async function waitFor(
  cond: () => boolean,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
