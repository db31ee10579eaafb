import type { BizmonPlugin } from '@bizmon/core/internal';
import { onAuthenticatedRequest, recordLoginFailure } from '@bizmon/http/plugin';
import { onLoginFailure, users } from '@bizmon/business/plugin';

/**
 * The signals between @bizmon/http and @bizmon/business, wired here and only here (neither
 * package depends on the other, and core knows neither signal's shape):
 * - an authenticated request that http saw counts as its user's activity (`users.seen`);
 * - a login failure the app reports through business's `security.loginFailure` feeds http's
 *   credential-stuffing detection (`recordLoginFailure`).
 */
export function signals(): BizmonPlugin {
  let unsubscribe: (() => void)[] = [];
  return {
    name: 'signals',
    start() {
      if (unsubscribe.length > 0) return;
      unsubscribe = [onAuthenticatedRequest(users.seen), onLoginFailure(recordLoginFailure)];
    },
    shutdown() {
      for (const off of unsubscribe) off();
      unsubscribe = [];
    },
  };
}
