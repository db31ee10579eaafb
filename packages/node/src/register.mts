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
 * - import-in-the-middle is resolved from @opentelemetry/instrumentation, so the hook and the
 *   instrumentations' `Hook`s share one copy of it.
 */
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const { start, shutdown, instrumentedModules, loadInstrumentations } = await import('./start.js');
void start();
// `import`ed packages do not go through `require`, where start() waits for the app's first
// use of a package it patches: the instrumentations, and their import-in-the-middle Hooks,
// are registered now.
loadInstrumentations();
process.once('beforeExit', () => void shutdown());

const escape = (name: string): string => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// Matched against resolved URLs: the package's own files wherever the package manager put them.
const include = instrumentedModules().map((name) => new RegExp(`/node_modules/${escape(name)}/`));

if (include.length > 0) {
  const fromInstrumentation = createRequire(
    createRequire(import.meta.url).resolve('@opentelemetry/instrumentation'),
  );
  const iitm = (file: string): string =>
    pathToFileURL(fromInstrumentation.resolve(`import-in-the-middle/${file}`)).href;
  const { supportsSyncHooks } = (await import(iitm('supports-sync-hooks.mjs'))) as {
    supportsSyncHooks: () => boolean;
  };
  if (supportsSyncHooks()) {
    const hooks = (await import(iitm('register-hooks.mjs'))) as {
      register: (options: { include: RegExp[] }) => void;
    };
    hooks.register({ include });
  } else {
    register(iitm('hook.mjs'), import.meta.url, { data: { include } });
  }
}
