import { performance } from 'node:perf_hooks';
import { warnRateLimited } from '@bizmon/core/internal';

/**
 * One function wrapper for the three ways app code attaches monitoring: a plain wrapper
 * (`monitorAiTask('flux')(fn)`), a TypeScript 5 standard method decorator, and an
 * `experimentalDecorators` (NestJS) method decorator. The monitored function's result is
 * returned as is and its error re-thrown unchanged; sync and async functions both.
 */

/** What happens around one monitored call. Implementations never throw. */
export interface CallMonitor {
  /** Before the call; returns the user role to label the outcome with. */
  begin(): string;
  succeeded(role: string, seconds: number, result: unknown): void;
  failed(role: string, seconds: number, error: unknown): void;
}

/** A function of any shape (the wrapper keeps its exact type). */
export type AnyFunction = (...args: never[]) => unknown;

/**
 * Wraps a function, and decorates a method in either decorator style.
 * - `monitor(fn)` returns a function with the same signature.
 * - `@monitor` on a method works with TypeScript 5 standard decorators and with
 *   `experimentalDecorators` (as NestJS compiles them).
 */
export interface FunctionMonitor {
  <F extends AnyFunction>(fn: F): F;
  <F extends AnyFunction>(value: F, context: ClassMethodDecoratorContext): F;
  <T>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T>;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

/** Runs `fn` under `monitor`; returns its result and re-throws its error unchanged. */
export function invoke(
  monitor: CallMonitor,
  fn: AnyFunction,
  thisArg: unknown,
  args: readonly unknown[],
): unknown {
  const start = performance.now();
  const role = monitor.begin();
  let result: unknown;
  try {
    result = Reflect.apply(fn, thisArg, args);
  } catch (error) {
    monitor.failed(role, secondsSince(start), error);
    throw error;
  }
  if (isThenable(result)) {
    // The caller gets a promise settling like the original: same value, same error object.
    return result.then(
      (value) => {
        monitor.succeeded(role, secondsSince(start), value);
        return value;
      },
      (error: unknown) => {
        monitor.failed(role, secondsSince(start), error);
        throw error;
      },
    );
  }
  monitor.succeeded(role, secondsSince(start), result);
  return result;
}

function wrapFunction<F extends AnyFunction>(monitor: CallMonitor, fn: F): F {
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    return invoke(monitor, fn, this, args);
  };
  try {
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
    Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
  } catch {
    // A frozen or exotic function: the wrapper works without its name.
  }
  return wrapped as unknown as F;
}

function isStandardContext(value: unknown): value is ClassMethodDecoratorContext {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string'
  );
}

/** Builds the wrapper/decorator for `monitor`; `label` names it in warnings. */
export function functionMonitor(monitor: CallMonitor, label: string): FunctionMonitor {
  function apply(a: unknown, b?: unknown, c?: unknown): unknown {
    // experimentalDecorators: (prototype or constructor, key, descriptor).
    if (
      c !== undefined &&
      typeof c === 'object' &&
      c !== null &&
      (typeof b === 'string' || typeof b === 'symbol')
    ) {
      const descriptor = c as PropertyDescriptor;
      if (typeof descriptor.value === 'function') {
        descriptor.value = wrapFunction(monitor, descriptor.value as AnyFunction);
      } else {
        warnRateLimited(
          `decorator:${label}`,
          `${label} decorates methods only; ${String(b)} was left as is`,
        );
      }
      return descriptor;
    }
    // Standard decorators: (method, context) with context.kind === 'method'.
    if (isStandardContext(b)) {
      if (b.kind === 'method' && typeof a === 'function')
        return wrapFunction(monitor, a as AnyFunction);
      warnRateLimited(
        `decorator:${label}`,
        `${label} decorates methods only; a ${b.kind} was left as is`,
      );
      return undefined;
    }
    if (typeof a === 'function') return wrapFunction(monitor, a as AnyFunction);
    warnRateLimited(
      `decorator:${label}`,
      `${label} was given a ${typeof a} instead of a function; left as is`,
    );
    return a;
  }
  return apply as FunctionMonitor;
}
