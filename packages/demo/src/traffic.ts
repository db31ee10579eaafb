import { AI_SERVICES } from './platform';
import { simulatedUsers, visitorAddress, type SimulatedUser } from './population';

/** Requests a second the simulated population sends (one action every 50 ms). */
const TICK_MS = 50;

/**
 * What happens in one tick, with its share of ticks. Shares are those of a healthy platform,
 * chosen so that no alert of deploy/ fires on them (packages/demo/README.md has the figures):
 * a user mistypes a password now and then, an upload is too large now and then, a stale link
 * answers 404 — never often enough, from one address, to look like an attack or a fault.
 */
const ACTIONS = {
  /** A user logs in; 1 in 20 mistypes the password once, then logs in. */
  login: 0.03,
  /** A visitor mistypes a username at login. */
  unknownLogin: 0.002,
  /** A visitor follows a stale link (404). */
  staleLink: 0.02,
  /** A user submits an AI task; a 402 (no credits left) makes the user top up. */
  task: 0.4,
  /** A user tops up credits unprompted. */
  purchase: 0.01,
  /** A user uploads a file; 1 in 100 is over the 1 MB limit. */
  upload: 0.04,
  /**
   * A user hits a handler bug (500): rare enough that, with the provider failures, a healthy
   * demo's 5xx share stays near 0.05 %, half of what the `http-availability` SLO allows.
   */
  bug: 0.0002,
  // The rest of the ticks: a user reads a profile (their own or another's).
} as const;

const MISTYPED_PASSWORD = 0.05;
const OVERSIZED_UPLOAD = 0.01;

/**
 * Simulated users of the platform, so /metrics moves from the first second: about 20 requests
 * a second from USER_COUNT registered users on their own addresses (some sharing an office
 * NAT) and from anonymous visitors, each request carrying its client's X-Forwarded-For.
 */
export function startTraffic(baseUrl: string): () => void {
  let stopped = false;
  const users = simulatedUsers();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

  /** Sends one request as the client at `address`; the answer's status, 0 if none came. */
  const call = async (
    address: string,
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<number> => {
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          'content-type':
            body instanceof Uint8Array ? 'application/octet-stream' : 'application/json',
          'x-forwarded-for': address,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body:
          body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      // The app may be stopping; traffic is best effort.
      return 0;
    }
  };
  const as = (user: SimulatedUser) => ({
    login: (password: string) =>
      call(user.address, 'POST', '/api/v1/auth/login', undefined, {
        username: user.id,
        password,
      }),
    send: (method: string, path: string, body?: unknown) =>
      call(user.address, method, path, user.id, body),
  });

  const registered = (async () => {
    for (const user of users) {
      await call(user.address, 'POST', '/api/v1/auth/register', undefined, {
        id: user.id,
        role: user.role,
      });
    }
  })();

  const purchase = (user: SimulatedUser) =>
    as(user).send('POST', '/api/v1/credits/purchase', { amount: pick([100, 500, 1000]) });

  const step = async (): Promise<void> => {
    const user = pick(users);
    const client = as(user);
    let roll = Math.random();
    const is = (share: number): boolean => (roll -= share) < 0;
    if (is(ACTIONS.login)) {
      if (Math.random() < MISTYPED_PASSWORD) await client.login('Secret');
      await client.login('secret');
    } else if (is(ACTIONS.unknownLogin)) {
      await call(visitorAddress(), 'POST', '/api/v1/auth/login', undefined, {
        username: `${user.id}x`,
        password: 'secret',
      });
    } else if (is(ACTIONS.staleLink)) {
      await call(visitorAddress(), 'GET', `/blog/${Math.floor(Math.random() * 1000)}`);
    } else if (is(ACTIONS.task)) {
      const status = await client.send('POST', `/api/v1/${pick(AI_SERVICES)}/tasks`, {
        mode: Math.random() < 0.3 ? 'fast' : 'relax',
      });
      if (status === 402) await purchase(user);
    } else if (is(ACTIONS.purchase)) {
      await purchase(user);
    } else if (is(ACTIONS.upload)) {
      const bytes = Math.random() < OVERSIZED_UPLOAD ? 1_500_000 : 20_000;
      await client.send('POST', '/api/v1/files/upload', new Uint8Array(bytes));
    } else if (is(ACTIONS.bug)) {
      await client.send('GET', '/api/v1/boom');
    } else {
      const other = Math.random() < 0.5 ? user : pick(users);
      await client.send('GET', `/api/v1/users/${other.id}`);
    }
  };

  const timer = setInterval(() => {
    if (!stopped) void registered.then(step);
  }, TICK_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
