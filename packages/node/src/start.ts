import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  resolveConfig,
  startTelemetry,
  type BizmonConfig,
  type BizmonOptions,
  type Telemetry,
} from '@bizmon/core';
import { warn, type BizmonPlugin } from '@bizmon/core/internal';
import { plugins } from './plugins';
import { onFirstRequire } from './first-require';
import { withPrivateRequireHook } from './private-require-hook';

/** Libraries that must load after the preload for their instrumentation to apply. */
const LATE_MODULES = ['pg', 'ioredis', 'express', 'fastify', 'koa'];

let started: Promise<Telemetry> | undefined;
let disposers: (() => void)[] = [];
let activePlugins: BizmonPlugin[] = [];
let registered: Instrumentation[] = [];

/**
 * Names of the packages bizmon's instrumentations patch (`pg`, `ioredis`, `express`…), for the
 * ESM loader hook (register.mts), which then leaves every other module alone.
 */
export function instrumentedModules(): string[] {
  const names = [
    ...activePlugins.flatMap((p) => p.modules ?? []),
    ...registered.flatMap((i) => {
      // InstrumentationBase's, without loading the framework to test `instanceof` against.
      const definitions = (i as { getModuleDefinitions?: () => { name: string }[] })
        .getModuleDefinitions;
      return typeof definitions === 'function' ? definitions.call(i).map((d) => d.name) : [];
    }),
  ];
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

/** Constructs and registers the plugins' instrumentations; returns the plugins that failed. */
function registerFor(config: BizmonConfig, from: readonly BizmonPlugin[]): BizmonPlugin[] {
  const instrumentations: Instrumentation[] = [];
  const failed: BizmonPlugin[] = [];
  if (from.length === 0) return failed;
  withPrivateRequireHook(() => {
    for (const plugin of from) {
      try {
        instrumentations.push(...(plugin.instrumentations?.(config) ?? []));
      } catch (err) {
        failed.push(plugin);
        warn(
          `the ${plugin.name} instrumentation failed to load and is skipped: ${(err as Error).message}`,
        );
      }
    }
  });
  if (instrumentations.length === 0) return failed;
  try {
    // Loaded here, with the first instrumentations: see `modules` in @bizmon/core's plugin.ts.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { registerInstrumentations } = require('@opentelemetry/instrumentation') as {
      registerInstrumentations: (options: { instrumentations: Instrumentation[] }) => () => void;
    };
    disposers.push(registerInstrumentations({ instrumentations }));
    registered.push(...instrumentations);
  } catch (err) {
    warn(`instrumentations failed to register: ${(err as Error).message}`);
  }
  return failed;
}

/**
 * Starts bizmon: configuration (options over the environment), HTTP, PostgreSQL and Redis
 * instrumentation, and the exporter. The instrumentations are registered before the app
 * requires a package they patch: those of a plugin that names its packages (`modules`) when
 * the app first requires one of them (first-require.ts), the others before this returns its
 * promise. Calling it again returns the first call's result (under the preload, whose exporter
 * starts at the first turn of the event loop, `exporterAddress` is set once it listens). Never
 * throws: every failure is logged and the app runs on.
 */
export function start(options: BizmonOptions = {}): Promise<Telemetry> {
  return startWith(options, false);
}

/**
 * start() for the preload (register.ts): the exporter's server starts at the first turn of the
 * event loop, once the app's main module has run, and the start does not wait for it. A
 * process that ends in its main module (a CLI, a build step, a script under NODE_OPTIONS) then
 * neither loads node:http nor takes the exporter's port (bench/startup.mjs); a service binds
 * it a moment later than before, with the same warning when it is taken.
 */
export function startPreloaded(): Promise<Telemetry> {
  return startWith({}, true);
}

function afterMainModule(serve: () => void): () => void {
  // unref: only the app's own handles keep the process alive for it.
  const turn = setImmediate(serve).unref();
  return () => clearImmediate(turn);
}

function startWith(options: BizmonOptions, preloaded: boolean): Promise<Telemetry> {
  if (started) return started;
  const config = resolveConfig(options);
  warnAboutEarlyModules();
  activePlugins = [];
  if (!config.disabled) {
    const all = plugins(config);
    const now = all.filter((p) => p.instrumentations && !p.modules?.length);
    const later = all.filter((p) => p.instrumentations && p.modules?.length);
    const failed = registerFor(config, now);
    activePlugins = all.filter((p) => !failed.includes(p));
    if (later.length > 0) {
      let pending = true;
      const load = (): void => {
        if (!pending) return;
        pending = false;
        removeTrigger();
        registerFor(config, later);
      };
      const removeTrigger = onFirstRequire(
        later.flatMap((p) => p.modules ?? []),
        load,
      );
      disposers.push(() => {
        pending = false;
        removeTrigger();
      });
    }
  }
  // The exporter's server starts asynchronously; recording and the plugins start now, so a
  // helper called while the app is still loading is already counted.
  // The global MeterProvider (for the app's own OpenTelemetry instruments) when the app first
  // requires @opentelemetry/api: a process that never loads it cannot use one, and loading it
  // costs 5–9 MiB of every start. register.mts waits for an ESM app's import of it where Node
  // runs its hooks in-thread, or loads it at once (Node 20).
  const telemetry = startTelemetry(config, {
    deferGlobalMeterProvider: (register) => onFirstRequire(['@opentelemetry/api'], register),
    ...(preloaded ? { deferExporter: afterMainModule } : {}),
  });
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
  for (const dispose of disposers) dispose();
  disposers = [];
  registered = [];
  await telemetry.shutdown();
}
