/**
 * `node --import @bizmon/node/register app.mjs`: starts bizmon, then hooks the ESM loader
 * (import-in-the-middle) so that `import`ed packages bizmon instruments (pg, ioredis,
 * express…) are patched too.
 *
 * - Only those packages go through the hook (`include`): by default import-in-the-middle
 *   rewrites every module the app imports, which costs start-up time on every import.
 * - Where Node runs synchronous hooks in the app's thread (`module.registerHooks`; Node
 *   ≥ 22.22.3 / 24.11.1, as import-in-the-middle's `supportsSyncHooks()` decides), they are
 *   used: `module.register` runs the hooks on a separate loader thread, which cost
 *   about 40 ms and 12 MiB of every start on Node 20 (bench/startup.mjs).
 * - Only the names are needed here (each plugin's `modules`): the instrumentations, and
 *   OpenTelemetry's instrumentation framework, load with the first package they patch.
 * - import-in-the-middle is resolved from @opentelemetry/instrumentation, so the hook and the
 *   instrumentations' `Hook`s share one copy of it.
 */
import * as nodeModule from 'node:module';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

// The CommonJS preload, through the package's own `exports` (the bundled copy, which the app's
// `require`s and `import`s of @bizmon/node share): it starts bizmon and flushes at exit. The
// instrumentations are registered when the app first loads a package they patch, as with
// --require: every package bizmon patches is CommonJS, and its own files are `require`d while it
// loads, also when the app `import`s it. Their import-in-the-middle Hooks, registered then, are
// still called for the module being imported (import-in-the-middle calls a new Hook for every
// module it has wrapped so far).
const require = createRequire(import.meta.url);
const API = '@opentelemetry/api';
const { instrumentedModules, packageFilePattern } =
  require('@bizmon/node/register') as typeof import('./register.js');
/** Loads @opentelemetry/api, which makes start() register the global MeterProvider. */
function loadApi(): void {
  try {
    require(API);
  } catch {
    // Not installed (a peer dependency): no app code can use a global MeterProvider either.
  }
}

// import-in-the-middle, resolved from @opentelemetry/instrumentation (see above). Its
// `supportsSyncHooks()` decides where this file uses Node's in-thread hooks, for both of its
// hooks: `module.registerHooks` exists from 22.15, but its first releases mishandled some
// `require`s inside the ESM graph (fixed in 22.22.3 and 24.11.1).
const fromInstrumentation = createRequire(require.resolve('@opentelemetry/instrumentation'));
const iitm = (file: string): string =>
  pathToFileURL(fromInstrumentation.resolve(`import-in-the-middle/${file}`)).href;
const { supportsSyncHooks } = (await import(iitm('supports-sync-hooks.mjs'))) as {
  supportsSyncHooks: () => boolean;
};
const syncHooks = supportsSyncHooks();

/** `module.registerHooks`, which @types/node 20 does not declare. */
type RegisterHooks = (hooks: {
  resolve(
    specifier: string,
    context: unknown,
    nextResolve: (specifier: string, context: unknown) => unknown,
  ): unknown;
}) => { deregister(): void };

// An ESM app's `import` of @opentelemetry/api does not go through `require`, where start()
// waits for it to register the global MeterProvider. The API must be registered before the
// importer's first `metrics.getMeter()` (it has no proxy for meters), and loading it costs
// 5–9 MiB of every start. With in-thread hooks, one loads it at the first resolution of the API
// (an `import` or a `require`, by the app or a library), before the importer runs; elsewhere
// (Node 20, early 22 and 24 releases) it is loaded now.
if (syncHooks) {
  const { registerHooks } = nodeModule as unknown as { registerHooks: RegisterHooks };
  let seen = false;
  const hooks = registerHooks({
    resolve(specifier, context, nextResolve) {
      if (!seen && (specifier === API || specifier.startsWith(`${API}/`))) {
        seen = true;
        loadApi();
        // Not from inside the resolution, which is walking the hook chain.
        queueMicrotask(() => hooks.deregister());
      }
      return nextResolve(specifier, context);
    },
  });
} else loadApi();

const instrumented = instrumentedModules();
if (instrumented.length > 0) {
  // Matched against resolved URLs: the packages' own files wherever the package manager put them.
  const include = [packageFilePattern(instrumented)];
  if (syncHooks) {
    const hooks = (await import(iitm('register-hooks.mjs'))) as {
      register: (options: { include: RegExp[] }) => void;
    };
    hooks.register({ include });
  } else {
    register(iitm('hook.mjs'), import.meta.url, { data: { include } });
  }
}
