import {
  InstrumentationBase,
  registerInstrumentations,
  type Instrumentation,
} from '@opentelemetry/instrumentation';
import {
  resolveConfig,
  startTelemetry,
  warn,
  type BizmonOptions,
  type BizmonPlugin,
  type Telemetry,
} from '@bizmon/core';
import { plugins } from './plugins';
import { withPrivateRequireHook } from './private-require-hook';

/** Libraries that must load after the preload for their instrumentation to apply. */
const LATE_MODULES = ['pg', 'ioredis', 'express', 'fastify', 'koa'];

let started: Promise<Telemetry> | undefined;
let disableInstrumentations: (() => void) | undefined;
let activePlugins: BizmonPlugin[] = [];
let registered: Instrumentation[] = [];

/**
 * Names of the packages the registered instrumentations patch (`pg`, `ioredis`, `express`…),
 * for the ESM loader hook (register.mts), which then leaves every other module alone.
 */
export function instrumentedModules(): string[] {
  const names = registered.flatMap((i) =>
    i instanceof InstrumentationBase ? i.getModuleDefinitions().map((d) => d.name) : [],
  );
  return [...new Set(names)];
}

function warnAboutEarlyModules(): void {
  const loaded = Object.keys(require.cache);
  const early = LATE_MODULES.filter((name) =>
    loaded.some((path) => path.includes(`/node_modules/${name}/`)),
  );
  if (early.length > 0) {
    warn(
      `${early.join(', ')} loaded before bizmon started, so their metrics may be missing; ` +
        'preload bizmon with --require/--import @bizmon/node/register or call start() first',
    );
  }
}

/**
 * Starts bizmon: configuration (options over the environment), HTTP, PostgreSQL and Redis
 * instrumentation, and the exporter. The instrumentations are registered synchronously, before
 * this returns its promise, so the app's later `require`s are patched. Calling it again returns
 * the first call's result. Never throws: every failure is logged and the app runs on.
 */
export function start(options: BizmonOptions = {}): Promise<Telemetry> {
  if (started) return started;
  const config = resolveConfig(options);
  warnAboutEarlyModules();
  const instrumentations: Instrumentation[] = [];
  activePlugins = [];
  if (!config.disabled) {
    withPrivateRequireHook(() => {
      for (const plugin of plugins(config)) {
        try {
          instrumentations.push(...(plugin.instrumentations?.(config) ?? []));
          activePlugins.push(plugin);
        } catch (err) {
          warn(
            `the ${plugin.name} instrumentation failed to load and is skipped: ${(err as Error).message}`,
          );
        }
      }
    });
    try {
      disableInstrumentations = registerInstrumentations({ instrumentations });
      registered = instrumentations;
    } catch (err) {
      warn(`instrumentations failed to register: ${(err as Error).message}`);
    }
  }
  // The exporter's server starts asynchronously; recording and the plugins start now, so a
  // helper called while the app is still loading is already counted.
  const telemetry = startTelemetry(config);
  const pluginsStarted = activePlugins.map(async (plugin) => {
    try {
      await plugin.start?.(config);
    } catch (err) {
      warn(`the ${plugin.name} plugin failed to start: ${(err as Error).message}`);
    }
  });
  started = Promise.all(pluginsStarted).then(() => telemetry);
  return started;
}

/** Flushes and stops everything start() started. Safe to call when not started. */
export async function shutdown(): Promise<void> {
  const running = started;
  if (!running) return;
  started = undefined;
  const telemetry = await running;
  for (const plugin of activePlugins) {
    try {
      await plugin.shutdown?.();
    } catch (err) {
      warn(`the ${plugin.name} plugin failed to stop: ${(err as Error).message}`);
    }
  }
  activePlugins = [];
  disableInstrumentations?.();
  disableInstrumentations = undefined;
  registered = [];
  await telemetry.shutdown();
}
