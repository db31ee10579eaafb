import { warnRateLimited } from './log';
import { state } from './state';

/** A failed login, as the app reports it (never a label: input to detection only). */
export interface LoginFailureSignal {
  ip?: string;
  username?: string;
}

/**
 * Signals between bizmon's packages that must not depend on each other: @bizmon/http sees
 * authenticated requests and detects credential stuffing, @bizmon/business counts active users
 * and takes the app's login failures. Each side subscribes here; emitting with no subscriber
 * costs a size check.
 */
function subscribe<T>(
  listeners: Set<(value: T) => void>,
  listener: (value: T) => void,
): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit<T>(listeners: Set<(value: T) => void>, value: T): void {
  if (listeners.size === 0) return;
  for (const listener of listeners) {
    try {
      listener(value);
    } catch (err) {
      // An app's listener must not break the request that emitted the signal.
      warnRateLimited(
        'signal-listener',
        `a bizmon signal listener threw: ${(err as Error)?.message ?? String(err)}`,
      );
    }
  }
}

/** Calls `listener` with the id of every user seen (an authenticated request, a purchase…). */
export function onUserActive(listener: (userId: string) => void): () => void {
  return subscribe(state.signals.userActive, listener);
}

/** Reports that `userId` was active now. */
export function emitUserActive(userId: string): void {
  emit(state.signals.userActive, userId);
}

/** Calls `listener` with every login failure the app reports. */
export function onLoginFailure(listener: (failure: LoginFailureSignal) => void): () => void {
  return subscribe(state.signals.loginFailure, listener);
}

/** Reports a login failure to the detectors. */
export function emitLoginFailure(failure: LoginFailureSignal): void {
  emit(state.signals.loginFailure, failure);
}
