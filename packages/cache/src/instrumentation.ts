import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import { isOwnRedisClient, unwrapMethod, warnRateLimited, wrapMethod } from '@bizmon/core/internal';
import { trackClient, type RedisClientLike } from './clients';
import { onCommandEnd, onCommandStart, type CommandContext } from './commands-tracer';
import type { IoredisInstrumentationConfig } from './types';
import { VERSION } from './version';

interface RedisPrototype {
  connect: (this: RedisClientLike, ...args: unknown[]) => unknown;
  sendCommand: (this: RedisClientLike, command: RedisCommand, stream?: unknown) => unknown;
}

/** The parts of an ioredis Command that bizmon uses (ioredis 4 to 6 alike). */
interface RedisCommand {
  name: string;
  resolve?: (this: unknown, value: unknown) => unknown;
  reject?: (this: unknown, err: unknown) => unknown;
  isResolved?: boolean;
  [TRACED]?: boolean;
}

const TRACED = Symbol('bizmon.traced');

function extractRedis(module: unknown): { prototype: RedisPrototype } | undefined {
  const m = module as { Redis?: unknown; default?: unknown; prototype?: unknown } | undefined;
  const candidate = (m?.Redis ?? m?.default ?? m) as { prototype?: RedisPrototype } | undefined;
  return candidate?.prototype && typeof candidate.prototype.sendCommand === 'function'
    ? (candidate as { prototype: RedisPrototype })
    : undefined;
}

/**
 * Observes how one command settles by wrapping the command's own `resolve` and `reject` (the
 * functions ioredis calls with the reply or the error), never its promise: a handler on the
 * promise would mark a rejection the app ignores as handled, and would add promise steps.
 */
function observe(command: RedisCommand, ctx: CommandContext): void {
  const { resolve, reject } = command;
  if (typeof resolve !== 'function' || typeof reject !== 'function') return;
  let settled = false;
  command.resolve = function (this: unknown, value: unknown) {
    // eslint-disable-next-line prefer-rest-params
    const result = resolve.apply(this, arguments as unknown as [unknown]);
    // A reply ioredis could not transform was rejected instead (through `reject` below).
    if (!settled && command.isResolved !== false) {
      settled = true;
      ctx.result = value;
      onCommandEnd(ctx);
    }
    return result;
  };
  command.reject = function (this: unknown, err: unknown) {
    if (!settled) {
      settled = true;
      ctx.failed = true;
      ctx.error = err;
      onCommandEnd(ctx);
    }
    // eslint-disable-next-line prefer-rest-params
    return reject.apply(this, arguments as unknown as [unknown]);
  };
}

/**
 * ioredis instrumentation: wraps `sendCommand`, which every command passes through (again when
 * it is re-sent from the offline queue or after a reconnect, hence the mark that counts it
 * once), and `connect`, to track clients for INFO memory and the health check.
 *
 * Invisible: `sendCommand` returns exactly what ioredis returns. ioredis ≥ 5.11 also publishes
 * an `ioredis:command` tracing channel, but subscribing to it makes every command return a
 * wrapper promise that settles later than the command, which changes the order in which an
 * app's promises and callbacks run; bizmon does not subscribe. Not built on
 * instrumentation-ioredis: that one needs a span per command, calls its hooks twice for queued
 * commands and never reports errors to them.
 */
export class IoredisInstrumentation extends InstrumentationBase<IoredisInstrumentationConfig> {
  constructor(config: IoredisInstrumentationConfig = {}) {
    super('@bizmon/cache', VERSION, config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'ioredis',
        ['>=4.0.0 <7'],
        (module: unknown) => {
          const Redis = extractRedis(module);
          if (!Redis) return module;
          const proto = Redis.prototype;
          this.rewrap(
            proto,
            'connect',
            (original) =>
              // Same name and arity as ioredis's: the app sees the method it knows.
              function connect(this: RedisClientLike, _callback?: unknown) {
                trackClient(this);
                // eslint-disable-next-line prefer-rest-params
                return original.apply(this, arguments as unknown as unknown[]);
              },
          );
          this.rewrap(
            proto,
            'sendCommand',
            (original) =>
              function sendCommand(
                this: RedisClientLike,
                command: RedisCommand,
                _stream?: unknown,
              ) {
                if (command !== null && typeof command === 'object' && !command[TRACED]) {
                  try {
                    command[TRACED] = true;
                    const ctx: CommandContext = {
                      command: String(command.name),
                      client: this,
                      bizmonIgnored: isOwnRedisClient(this),
                    };
                    onCommandStart(ctx);
                    observe(command, ctx);
                  } catch (err) {
                    warnRateLimited(
                      'cache-command',
                      `could not observe a Redis command: ${(err as Error).message}`,
                    );
                  }
                }
                // eslint-disable-next-line prefer-rest-params
                return original.apply(this, arguments as unknown as [RedisCommand, unknown]);
              },
          );
          return module;
        },
        (module: unknown) => {
          const Redis = extractRedis(module);
          if (!Redis) return;
          for (const name of ['connect', 'sendCommand'] as const) {
            unwrapMethod(Redis.prototype, name);
          }
        },
      ),
    ];
  }

  private rewrap<K extends keyof RedisPrototype>(
    proto: RedisPrototype,
    name: K,
    wrapper: (original: RedisPrototype[K]) => RedisPrototype[K],
  ): void {
    wrapMethod(proto, name, wrapper);
  }
}
