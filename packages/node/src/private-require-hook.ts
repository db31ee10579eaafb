/**
 * Gives bizmon's instrumentations a require-in-the-middle hook of their own instead of the
 * process-wide one of @opentelemetry/instrumentation (`RequireInTheMiddleSingleton`).
 *
 * Why: that hook caches every module it sees, and calls the instrumentations registered in it
 * only the first time. Created by bizmon's preload, it saw the modules an app required before
 * starting its own OpenTelemetry SDK (its exporters load node:http), so the app's
 * instrumentation-http, registered later in the same hook, never patched node:http: the app's
 * server spans, and the pg and Redis spans that need them as parents, were lost (2.x line,
 * test/otel-coexistence.test.ts). Without bizmon the app's instrumentations create the hook
 * themselves, after those requires. So bizmon's instrumentations are constructed with no shared
 * hook in place, which makes them create a separate one, and the shared one is put back as it
 * was (usually none): the app's instrumentations then create theirs as they would without
 * bizmon.
 *
 * The hook is an internal of @opentelemetry/instrumentation (the version is pinned exactly);
 * when it is not where expected, nothing changes.
 */
const SINGLETON_MODULE =
  '@opentelemetry/instrumentation/build/src/platform/node/RequireInTheMiddleSingleton';

interface SingletonClass {
  _instance?: unknown;
}

function singletonClass(): SingletonClass | undefined {
  try {
    const internal =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(SINGLETON_MODULE) as { RequireInTheMiddleSingleton?: SingletonClass };
    const cls = internal.RequireInTheMiddleSingleton;
    return typeof cls === 'function' ? cls : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `create` (which constructs bizmon's instrumentations) with a private require hook. */
export function withPrivateRequireHook<T>(create: () => T): T {
  const cls = singletonClass();
  if (!cls) return create();
  const shared = cls._instance;
  cls._instance = undefined;
  try {
    return create();
  } finally {
    cls._instance = shared;
  }
}
