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
 * The hook is an internal of @opentelemetry/instrumentation; when it is not where expected,
 * nothing changes.
 */
import { dirname, extname, join } from 'node:path';

interface SingletonClass {
  _instance?: unknown;
}

/**
 * The file of the hook's class in the copy of @opentelemetry/instrumentation that bizmon's
 * instrumentations use, found beside that copy's entry point: `build/src/index.js` and
 * `build/src/platform/node/RequireInTheMiddleSingleton.js` up to 0.2xx (SDK 2.x line),
 * `dist/index.cjs` and `dist/platform/node/RequireInTheMiddleSingleton.cjs` from 0.300 (3.x
 * line). By absolute path: from 0.300 an `exports` map refuses the deep specifier, which made
 * this whole workaround a silent no-op on the 3.x line (the app's server spans, and so its
 * Redis spans, which require a parent, were lost again). The path is the one the entry point
 * itself loads, so it is the same module and the same class.
 */
export function singletonFile(): string {
  const entry = require.resolve('@opentelemetry/instrumentation');
  return join(dirname(entry), 'platform', 'node', `RequireInTheMiddleSingleton${extname(entry)}`);
}

function singletonClass(): SingletonClass | undefined {
  try {
    const internal =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(singletonFile()) as { RequireInTheMiddleSingleton?: SingletonClass };
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
