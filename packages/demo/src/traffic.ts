import { AI_SERVICES } from './platform';

/**
 * Simulated users of the platform, so /metrics moves from the first second: logins (some
 * failing), profile reads, AI tasks, purchases and uploads, about 20 requests a second.
 */
export function startTraffic(baseUrl: string, users = 40): () => void {
  let stopped = false;
  const ids = Array.from({ length: users }, (_, i) => `demo-user-${i + 1}`);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

  const call = async (
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<void> => {
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          'content-type':
            body instanceof Uint8Array ? 'application/octet-stream' : 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body:
          body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
    } catch {
      // The app may be stopping; traffic is best effort.
    }
  };

  const registered = (async () => {
    for (const [i, id] of ids.entries()) {
      await call('POST', '/api/v1/auth/register', undefined, {
        id,
        role: i % 10 === 0 ? 'vip' : 'user',
      });
    }
  })();

  const step = async (): Promise<void> => {
    const id = pick(ids);
    const roll = Math.random();
    if (roll < 0.1)
      await call('POST', '/api/v1/auth/login', undefined, {
        username: id,
        password: Math.random() < 0.2 ? 'wrong' : 'secret',
      });
    else if (roll < 0.45) await call('GET', `/api/v1/users/${pick(ids)}`, id);
    else if (roll < 0.8)
      await call('POST', `/api/v1/${pick(AI_SERVICES)}/tasks`, id, {
        mode: Math.random() < 0.3 ? 'fast' : 'relax',
      });
    else if (roll < 0.88)
      await call('POST', '/api/v1/credits/purchase', id, { amount: pick([100, 500, 1000]) });
    else if (roll < 0.95)
      await call(
        'POST',
        '/api/v1/files/upload',
        id,
        new Uint8Array(Math.random() < 0.1 ? 1_500_000 : 20_000),
      );
    // 0.5 % handler bugs: with failed AI tasks (502) and payment timeouts (503) a healthy demo
    // answers about 1.5 % 5xx, well under HighErrorRate's 5 % (deploy/ assumes 0.5 % noise).
    else if (roll < 0.955) await call('GET', '/api/v1/boom', id);
    else await call('GET', `/no/such/page/${Math.floor(Math.random() * 1000)}`);
  };

  const timer = setInterval(() => {
    if (!stopped) void registered.then(step);
  }, 50);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
