/* eslint-disable prefer-rest-params -- `arguments` passes calls through without an array */

/**
 * bizmon's method wrappers and what each wrapped, shared by every copy of @bizmon/core in the
 * process. A map rather than a mark on the function: the wrapper must show no key the original
 * lacks.
 */
const WRAPPERS = Symbol.for('bizmon.wrappers.v1');

type AnyFunction = (...args: never[]) => unknown;

interface WrapperState {
  /** The function the wrapper wrapped. */
  readonly original: AnyFunction;
  /** False once unwrapped or replaced: the wrapper then calls `original` straight through. */
  active: boolean;
}

const wrappers: WeakMap<object, WrapperState> = ((
  globalThis as { [WRAPPERS]?: WeakMap<object, WrapperState> }
)[WRAPPERS] ??= new WeakMap());

function stateOf(fn: unknown): WrapperState | undefined {
  return typeof fn === 'function' ? wrappers.get(fn) : undefined;
}

/** Switches off every bizmon wrapper under `fn` (through bizmon's and shimmer's wrappers). */
function deactivateUnder(fn: unknown): void {
  let current = fn;
  for (let depth = 0; typeof current === 'function' && depth < 32; depth++) {
    const state = stateOf(current);
    if (state) state.active = false;
    current = state ? state.original : (current as { __original?: unknown }).__original;
  }
}

/**
 * Replaces `target[name]` with `wrap(current)`. Why not InstrumentationBase's `_wrap`
 * (shimmer): OpenTelemetry's own instrumentations (instrumentation-pg, -ioredis…) unwrap any
 * shimmer-wrapped method before wrapping it, taking it for their own, so in an app that runs its
 * own OpenTelemetry SDK one library silently lost its patch to the other (bizmon's PostgreSQL
 * metrics stopped, or the app's pg spans did). bizmon's wrappers carry their own mark instead:
 * another library wraps on top of them, and they wrap on top of it.
 *
 * Wrapping again never stacks: a bizmon wrapper on top is replaced, one under another
 * library's wrapper is switched off, so a call is never recorded twice.
 */
export function wrapMethod<T extends object, K extends keyof T>(
  target: T,
  name: K,
  wrap: (original: NonNullable<T[K]>) => NonNullable<T[K]>,
): void {
  const current = target[name] as unknown;
  if (typeof current !== 'function') return;
  const top = stateOf(current);
  const original = (top ? top.original : current) as AnyFunction;
  deactivateUnder(current);
  target[name] = disguisedWrapper(
    original,
    wrap(original as NonNullable<T[K]>) as unknown as AnyFunction,
  ) as T[K];
}

/**
 * A wrapper that calls `wrapped` while active and `original` once switched off, registered as
 * bizmon's. Looks like the original to an app that introspects it: same name and arity, a
 * `prototype` exactly when the original has one (a class method has none), and no other key.
 */
function disguisedWrapper(original: AnyFunction, wrapped: AnyFunction): AnyFunction {
  const state: WrapperState = { original, active: true };
  const wrapper = Object.hasOwn(original, 'prototype')
    ? function (this: unknown): unknown {
        return (state.active ? wrapped : original).apply(this, arguments as never);
      }
    : {
        method(this: unknown): unknown {
          return (state.active ? wrapped : original).apply(this, arguments as never);
        },
      }.method;
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
  wrappers.set(wrapper, state);
  return wrapper;
}

/**
 * wrapMethod for a function that is replaced whole rather than as a property: a module whose
 * export is the function (Fastify's lib/handleRequest.js). Returns the wrapper to use in its
 * place. Undo with {@link unwrapFunction}, which can only switch the wrapper off: whoever already
 * holds it keeps it, and it then calls `original` straight through.
 */
export function wrapFunction<F extends AnyFunction>(original: F, wrap: (original: F) => F): F {
  const top = stateOf(original);
  const unwrapped = (top ? top.original : original) as F;
  deactivateUnder(original);
  return disguisedWrapper(unwrapped, wrap(unwrapped)) as F;
}

/** Switches off bizmon's wrappers at and under `fn` (from wrapFunction or wrapMethod). */
export function unwrapFunction(fn: unknown): void {
  deactivateUnder(fn);
}

/**
 * Whether `fn` is a bizmon wrapper in effect (from wrapMethod or wrapFunction, by any copy of
 * @bizmon/core, and not unwrapped since).
 *
 * Why not `isWrapped` of @opentelemetry/instrumentation: it looks for shimmer's `__wrapped`
 * property on the function, and bizmon's wrappers deliberately carry no property the original
 * lacks (what an app or a framework introspects must be what the plain library shows), so it
 * would never see them. bizmon's own registry (a WeakMap shared by every copy of core) answers
 * instead; it does not see shimmer's wrappers, which bizmon never needs to detect (wrapMethod
 * wraps on top of them and looks through them with `__original` when unwrapping).
 */
export function isWrapped(fn: unknown): boolean {
  return stateOf(fn)?.active === true;
}

/**
 * Undoes wrapMethod: restores the original when bizmon's wrapper is on top, else switches
 * bizmon's wrapper off and leaves the other library's in place.
 */
export function unwrapMethod<T extends object, K extends keyof T>(target: T, name: K): void {
  const current = target[name] as unknown;
  const top = stateOf(current);
  deactivateUnder(current);
  if (top) target[name] = top.original as T[K];
}
