import express, { type NextFunction, type Request, type Response } from 'express';
import { aiTasks, credits, errors, security, users } from '@bizmon/business';
import { createMonitoringHandler, setRequestUser } from '@bizmon/http';
import type { Cache } from './cache';
import type { Database } from './database';
import {
  AI_SERVICES,
  NORMAL_AI_FAILURE_RATE,
  SERVICE_PROFILE,
  isAiService,
  type Faults,
} from './platform';

/** A user as the demo stores it. */
interface DemoUser {
  id: string;
  role: string;
  credits: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    user?: DemoUser;
  }
}

const MAX_UPLOAD_BYTES = 1_000_000;
/** Largest top-up the simulated payment providers accept; they decline larger ones. */
const MAX_TOP_UP = 10_000;
/** Share of payments the simulated providers fail to answer in time. */
const PAYMENT_TIMEOUT_RATE = 0.01;

class PaymentTimeoutError extends Error {
  override name = 'PaymentTimeoutError';
}
class ProviderError extends Error {
  override name = 'ProviderError';
}

/**
 * The demo AI-generation platform: login, users, AI tasks for five services, credits and
 * uploads, with bizmon's one-line business calls where the user's platform would make them.
 */
export function createApp(db: Database, cache: Cache, faults: Faults): express.Express {
  const app = express();
  // The client address of a request relayed by a proxy on this host (the simulated users send
  // X-Forwarded-For through loopback), the socket's otherwise: a remote client cannot choose
  // its address. bizmon's abuse detection reads req.ip, so it sees each simulated client.
  app.set('trust proxy', 'loopback');
  app.use(express.json({ limit: '2mb' }));

  // The monitoring endpoints, mounted in the app as well as on the exporter's port.
  app.use(createMonitoringHandler({ prefix: '/monitoring' }));

  // Fault injection for demonstrating alerts (and the end-to-end test).
  app.post('/api/v1/admin/fault', (req, res) => {
    const body = req.body as Partial<Faults>;
    faults.httpErrorRate = Number(body.httpErrorRate ?? 0) || 0;
    faults.aiFailureRate = { ...(body.aiFailureRate ?? {}) };
    res.json(faults);
  });

  app.use((_req, res, next) => {
    if (faults.httpErrorRate > 0 && Math.random() < faults.httpErrorRate) {
      res.status(500).json({ error: 'injected fault' });
      return;
    }
    next();
  });

  async function loadUser(id: string): Promise<DemoUser | undefined> {
    const cached = await cache.get(`user:${id}`);
    if (cached) return JSON.parse(cached) as DemoUser;
    const { rows } = await db.pool.query<DemoUser>(
      'SELECT id, role, credits FROM demo_users WHERE id = $1',
      [id],
    );
    if (rows[0]) await cache.set(`user:${id}`, JSON.stringify(rows[0]));
    return rows[0];
  }

  /** Keeps the cached user in step with a new balance (write-through, so reads keep hitting). */
  async function cacheCredits(user: DemoUser, balance: number | undefined): Promise<void> {
    if (balance === undefined) await cache.delete(`user:${user.id}`);
    else await cache.set(`user:${user.id}`, JSON.stringify({ ...user, credits: balance }));
  }

  // Authentication runs after routing matched, as in most apps: bizmon reads the role after
  // the handler, so it still sees it.
  const authenticate = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const id = header.startsWith('Bearer ') ? header.slice(7) : '';
    const user = id ? await loadUser(id) : undefined;
    if (!user) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    req.user = user;
    setRequestUser({ id: user.id, role: user.role });
    next();
  };

  app.post('/api/v1/auth/register', async (req, res) => {
    const { id, role } = req.body as { id?: string; role?: string };
    if (!id) {
      res.status(400).json({ error: 'id required' });
      return;
    }
    await db.pool.query(
      'INSERT INTO demo_users (id, role) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
      [id, role === 'vip' || role === 'admin' ? role : 'user'],
    );
    users.registered(id);
    res.status(201).json({ id });
  });

  app.post('/api/v1/auth/login', async (req, res) => {
    const { username, password } = req.body as { username?: string; password?: string };
    const user = username ? await loadUser(username) : undefined;
    if (!user || password !== 'secret') {
      security.loginFailure({
        reason: user ? 'bad_password' : 'unknown_user',
        ip: req.ip,
        username,
      });
      res.status(401).json({ error: 'invalid credentials' });
      return;
    }
    res.json({ token: user.id });
  });

  app.get('/api/v1/users/:id', authenticate, async (req, res) => {
    const user = await loadUser(String(req.params.id));
    if (!user) {
      res.status(404).json({ error: 'no such user' });
      return;
    }
    res.json(user);
  });

  app.post('/api/v1/:service/tasks', authenticate, async (req, res) => {
    const service = String(req.params.service);
    if (!isAiService(service)) {
      res.status(404).json({ error: `unknown service; try ${AI_SERVICES.join(', ')}` });
      return;
    }
    const user = req.user!;
    const mode = (req.body as { mode?: string }).mode === 'fast' ? 'fast' : 'relax';
    const profile = SERVICE_PROFILE[service];
    const { rows } = await db.pool.query<{ credits: number }>(
      'UPDATE demo_users SET credits = credits - $2 WHERE id = $1 AND credits >= $2 RETURNING credits',
      [user.id, profile.cost],
    );
    if (!rows[0]) {
      res.status(402).json({ error: 'not enough credits' });
      return;
    }
    await cacheCredits(user, rows[0].credits);
    credits.consumed({ amount: profile.cost, balanceAfter: rows[0].credits });
    aiTasks.submitted({ service, mode });
    await db.pool.query('INSERT INTO demo_tasks (user_id, service, status) VALUES ($1, $2, $3)', [
      user.id,
      service,
      'pending',
    ]);
    // The provider's processing time is simulated (seconds to minutes); the HTTP answer is not
    // held that long.
    const durationSeconds =
      profile.minSeconds + Math.random() * (profile.maxSeconds - profile.minSeconds);
    const failureRate = faults.aiFailureRate[service] ?? NORMAL_AI_FAILURE_RATE;
    if (Math.random() < failureRate) {
      aiTasks.failed({
        service,
        mode,
        durationSeconds,
        error: new ProviderError(`${service} rejected the job`),
      });
      const refunded = await db.pool.query<{ credits: number }>(
        'UPDATE demo_users SET credits = credits + $2 WHERE id = $1 RETURNING credits',
        [user.id, profile.cost],
      );
      await cacheCredits(user, refunded.rows[0]?.credits);
      credits.refunded({ amount: profile.cost });
      res.status(502).json({ error: `${service} failed` });
      return;
    }
    aiTasks.succeeded({ service, mode, durationSeconds });
    res.status(202).json({ service, mode, credits: rows[0].credits });
  });

  app.post('/api/v1/credits/purchase', authenticate, async (req, res) => {
    const amount = Number((req.body as { amount?: number }).amount ?? 100);
    const provider = Math.random() < 0.5 ? 'alipay' : 'wechat_pay';
    if (amount > MAX_TOP_UP) {
      // The user's mistake, not a fault: counted as a failed payment, not an application error.
      errors.paymentFailure({ provider, reason: 'limit_exceeded' });
      res.status(402).json({ error: `top-ups are limited to ${MAX_TOP_UP} credits` });
      return;
    }
    if (Math.random() < PAYMENT_TIMEOUT_RATE) {
      errors.paymentFailure({ provider, reason: 'timeout' });
      errors.record(new PaymentTimeoutError('payment provider timed out'), 'payments');
      res.status(503).json({ error: 'payment failed, try again' });
      return;
    }
    const { rows } = await db.pool.query<{ credits: number }>(
      'UPDATE demo_users SET credits = credits + $2 WHERE id = $1 RETURNING credits',
      [req.user!.id, amount],
    );
    await cacheCredits(req.user!, rows[0]?.credits);
    credits.purchased({ amount, userId: req.user!.id });
    res.json({ credits: rows[0]?.credits });
  });

  app.post(
    '/api/v1/files/upload',
    authenticate,
    express.raw({ limit: '5mb', type: () => true }),
    async (req, res) => {
      const bytes = Buffer.isBuffer(req.body) ? req.body.length : 0;
      if (bytes === 0 || bytes > MAX_UPLOAD_BYTES) {
        errors.fileUploadFailure({ reason: bytes === 0 ? 'empty' : 'too_large' });
        res.status(413).json({ error: 'file must be 1 byte to 1 MB' });
        return;
      }
      await db.pool.query('INSERT INTO demo_uploads (user_id, bytes) VALUES ($1, $2)', [
        req.user!.id,
        bytes,
      ]);
      res.status(201).json({ bytes });
    },
  );

  app.get('/api/v1/boom', () => {
    throw new TypeError('a handler bug');
  });

  // Errors answer 500 quietly; bizmon has already counted them by class name.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!res.headersSent) res.status(500).json({ error: 'internal error' });
    else res.destroy(err instanceof Error ? err : undefined);
  });

  return app;
}
