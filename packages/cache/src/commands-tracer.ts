import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { instruments, warnRateLimited } from '@bizmon/core';
import { Kind, kindOf, lookupsIn, operationOf } from './commands';
import { recordDuration, recordLookups, recordResult } from './record';

/**
 * The context of one Redis command: what ioredis ≥ 5.11 publishes on its `ioredis:command`
 * tracing channel (`command`, `result` or `error`), plus what bizmon adds: the client (set by
 * the instrumentation's _buildCommandContext wrapper) and the start time.
 */
export interface CommandContext {
  command: string;
  result?: unknown;
  error?: unknown;
  client?: object;
  bizmonStart?: number;
  bizmonIgnored?: boolean;
  /** On EXEC: the commands queued since MULTI on the same client. */
  bizmonQueued?: CommandContext[];
  bizmonKind?: Kind;
}

/** Transactions being queued, per client (commands between MULTI and EXEC). */
const openTransactions = new WeakMap<object, CommandContext[]>();
/** Used when the client is unknown (ioredis loaded before bizmon): pipelined MULTI is synchronous. */
const NO_CLIENT = {};

const CLASS_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Bounded error_type: the error's name (ReplyError, MaxRetriesPerRequestError…), never its message. */
function errorTypeOf(err: unknown): string {
  const e = err as { name?: unknown; constructor?: { name?: unknown } } | null;
  if (typeof e?.name === 'string' && CLASS_NAME.test(e.name)) return e.name;
  const name = e?.constructor?.name;
  return typeof name === 'string' && CLASS_NAME.test(name) ? name : 'Error';
}

function finish(
  ctx: CommandContext,
  kind: Kind,
  result: unknown,
  error: unknown,
  end: number,
): void {
  const operation = operationOf(kind);
  recordDuration(operation, (end - (ctx.bizmonStart ?? end)) / 1000);
  if (error !== undefined && error !== null) {
    recordResult(operation, 'error');
    instruments.application_errors_total.labels(errorTypeOf(error), 'cache').add(1);
  } else if (operation === 'get') {
    const [hits, misses] = lookupsIn(kind, result);
    recordLookups(hits, misses);
  } else recordResult(operation, 'success');
}

/** Called when a command is written (tracing channel `start`). */
export function onCommandStart(ctx: CommandContext): void {
  if (ctx.bizmonIgnored) return;
  const kind = kindOf(ctx.command);
  ctx.bizmonKind = kind;
  ctx.bizmonStart = performance.now();
  const owner = ctx.client ?? NO_CLIENT;
  if (ctx.command === 'multi') openTransactions.set(owner, []);
  else if (ctx.command === 'exec' || ctx.command === 'discard') {
    ctx.bizmonQueued = openTransactions.get(owner);
    openTransactions.delete(owner);
  } else if (kind !== Kind.Ignore) openTransactions.get(owner)?.push(ctx);
}

/** Called when a command's reply or error arrived (tracing channel `asyncEnd`). */
export function onCommandEnd(ctx: CommandContext): void {
  try {
    const kind = ctx.bizmonKind;
    if (kind === undefined || ctx.bizmonIgnored) return;
    if (kind !== Kind.Ignore) {
      // Inside MULTI the reply is QUEUED; the real reply comes with EXEC.
      if (ctx.result === 'QUEUED' && ctx.error === undefined) return;
      finish(ctx, kind, ctx.result, ctx.error, performance.now());
      return;
    }
    if (ctx.command !== 'exec' || !ctx.bizmonQueued) return;
    const queued = ctx.bizmonQueued.filter((q) => q.result === 'QUEUED');
    const replies = ctx.result;
    const end = performance.now();
    queued.forEach((q, i) => {
      const reply: unknown = Array.isArray(replies) ? replies[i] : undefined;
      // EXEC failing (EXECABORT) or aborted by WATCH (nil reply) fails every queued command.
      const failure =
        ctx.error ??
        (Array.isArray(replies)
          ? reply instanceof Error
            ? reply
            : undefined
          : new Error('transaction aborted'));
      finish(q, q.bizmonKind ?? Kind.Other, reply, failure, end);
    });
  } catch (err) {
    warnRateLimited('cache-record', `could not record a Redis command: ${(err as Error).message}`);
  }
}

const START = 'tracing:ioredis:command:start';
const ASYNC_END = 'tracing:ioredis:command:asyncEnd';
let subscribed = false;
const onStart = onCommandStart as (message: unknown) => void;
const onEnd = onCommandEnd as (message: unknown) => void;

/**
 * Subscribes to ioredis's `ioredis:command` tracing channel (ioredis ≥ 5.11): only its start and
 * asyncEnd events, the two bizmon needs.
 */
export function subscribeCommands(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe(START, onStart);
  diagnostics.subscribe(ASYNC_END, onEnd);
}

export function unsubscribeCommands(): void {
  if (!subscribed) return;
  subscribed = false;
  diagnostics.unsubscribe(START, onStart);
  diagnostics.unsubscribe(ASYNC_END, onEnd);
}
