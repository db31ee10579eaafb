import diagnostics from 'node:diagnostics_channel';
import { warnRateLimited } from './log';

/**
 * A named signal between bizmon's packages that must not depend on each other: one package
 * emits, another subscribes, and @bizmon/node's preload wires them (packages/node/src/signals.ts).
 * Core provides only the mechanism; each signal's name and value type belong to the package that
 * emits it.
 */
export interface Signal<T> {
  /** Calls `listener` with every value emitted. Returns the unsubscribe function. */
  subscribe(listener: (value: T) => void): () => void;
  /** Calls the listeners; with none, costs one check. A listener that throws is logged. */
  emit(value: T): void;
}

/**
 * The signal called `name` (a `diagnostics_channel` name, so every copy of every bizmon package
 * in the process shares it). A listener that throws is logged and ignored: it must not break the
 * request that emitted the signal (diagnostics_channel would rethrow it as an uncaught error).
 */
export function defineSignal<T>(name: string): Signal<T> {
  const channel = diagnostics.channel(name);
  return {
    subscribe(listener) {
      const safe = (value: unknown): void => {
        try {
          listener(value as T);
        } catch (err) {
          warnRateLimited(
            'signal-listener',
            `a bizmon signal listener threw: ${(err as Error)?.message ?? String(err)}`,
          );
        }
      };
      diagnostics.subscribe(name, safe);
      return () => void diagnostics.unsubscribe(name, safe);
    },
    emit(value) {
      if (channel.hasSubscribers) channel.publish(value);
    },
  };
}
