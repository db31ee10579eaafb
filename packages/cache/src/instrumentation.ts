import diagnostics from 'node:diagnostics_channel';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import { unwrapMethod, wrapMethod } from '@bizmon/core';
import { isOwnClient, trackClient, type RedisClientLike } from './clients';
import { onCommandEnd, onCommandStart, type CommandContext } from './commands-tracer';

const VERSION = '0.1.0';

interface RedisPrototype {
  connect: (this: RedisClientLike, ...args: unknown[]) => unknown;
  _buildCommandContext?: (this: RedisClientLike, command: unknown) => CommandContext;
  sendCommand: (this: RedisClientLike, command: LegacyCommand, stream?: unknown) => unknown;
}

interface LegacyCommand {
  name: string;
  promise: Promise<unknown>;
  [TRACED]?: boolean;
}

const TRACED = Symbol('bizmon.traced');

/** ioredis ≥ 5.11 publishes `ioredis:command`; older versions need sendCommand wrapped. */
export function hasCommandChannel(version: string | undefined): boolean {
  const [major = 0, minor = 0] = (version ?? '0.0').split('.').map(Number);
  return (
    typeof diagnostics.tracingChannel === 'function' && (major > 5 || (major === 5 && minor >= 11))
  );
}

function extractRedis(module: unknown): { prototype: RedisPrototype } | undefined {
  const m = module as { Redis?: unknown; default?: unknown; prototype?: unknown } | undefined;
  const candidate = (m?.Redis ?? m?.default ?? m) as { prototype?: RedisPrototype } | undefined;
  return candidate?.prototype && typeof candidate.prototype.sendCommand === 'function'
    ? (candidate as { prototype: RedisPrototype })
    : undefined;
}

/**
 * ioredis instrumentation. Commands are measured from ioredis's own `ioredis:command` tracing
 * channel (subscribed by the plugin): it fires once per command even when the command waited in
 * the offline queue, and carries the decoded reply or the error. This instrumentation only adds
 * what the channel lacks: it tracks clients as they connect (for INFO memory and the health
 * check) and adds the client to the channel's context (for MULTI and to skip bizmon's own
 * clients). For ioredis < 5.11, which has no channel, it wraps sendCommand instead, marking each
 * command so a command re-sent from the offline queue is counted once. Not built on
 * instrumentation-ioredis: that one needs a span per command, calls its hooks twice for queued
 * commands and never reports errors to them.
 */
export class IoredisInstrumentation extends InstrumentationBase {
  constructor() {
    super('@bizmon/cache', VERSION, {});
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'ioredis',
        ['>=4.0.0 <7'],
        (module: unknown, version?: string) => {
          const Redis = extractRedis(module);
          if (!Redis) return module;
          const proto = Redis.prototype;
          this.rewrap(
            proto,
            'connect',
            (original) =>
              function (this: RedisClientLike, ...args: unknown[]) {
                trackClient(this);
                return original.apply(this, args);
              },
          );
          if (typeof proto._buildCommandContext === 'function') {
            this.rewrap(
              proto,
              '_buildCommandContext',
              (original) =>
                function (this: RedisClientLike, command: unknown) {
                  const ctx = original.call(this, command);
                  ctx.client = this;
                  if (isOwnClient(this)) ctx.bizmonIgnored = true;
                  return ctx;
                },
            );
          }
          if (
            !hasCommandChannel(version) ||
            process.env.BIZMON_INTERNAL_IOREDIS_LEGACY === 'true'
          ) {
            this.rewrap(
              proto,
              'sendCommand',
              (original) =>
                function (this: RedisClientLike, command: LegacyCommand, stream?: unknown) {
                  const result = original.call(this, command, stream);
                  if (command && !command[TRACED] && command.promise) {
                    command[TRACED] = true;
                    const ctx: CommandContext = {
                      command: command.name,
                      client: this,
                      bizmonIgnored: isOwnClient(this),
                    };
                    onCommandStart(ctx);
                    command.promise.then(
                      (value) => ((ctx.result = value), onCommandEnd(ctx)),
                      (err: unknown) => ((ctx.error = err), onCommandEnd(ctx)),
                    );
                  }
                  return result;
                },
            );
          }
          return module;
        },
        (module: unknown) => {
          const Redis = extractRedis(module);
          if (!Redis) return;
          for (const name of ['connect', '_buildCommandContext', 'sendCommand'] as const) {
            unwrapMethod(Redis.prototype, name);
          }
        },
      ),
    ];
  }

  private rewrap<K extends keyof RedisPrototype>(
    proto: RedisPrototype,
    name: K,
    wrapper: (original: NonNullable<RedisPrototype[K]>) => NonNullable<RedisPrototype[K]>,
  ): void {
    wrapMethod(proto, name, wrapper);
  }
}
