import { performance } from 'node:perf_hooks';
import { errorTypeOf, instruments } from '@bizmon/core';
import { warnRateLimited } from '@bizmon/core/internal';
import { Kind, kindOf, lookupsIn, operationOf } from './commands';
import { recordDuration, recordLookups, recordResult } from './record';

/**
 * The context of one Redis command, built by the instrumentation's sendCommand wrapper: its
 * name, client and start time, then the raw reply (`result`) or the `error`.
 */
export interface CommandContext {
  command: string;
  result?: unknown;
  /** Whether the command was rejected; `error` is what it was rejected with (even undefined). */
  failed?: boolean;
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

function finish(
  ctx: CommandContext,
  kind: Kind,
  result: unknown,
  failed: boolean,
  error: unknown,
  end: number,
): void {
  const operation = operationOf(kind);
  recordDuration(operation, (end - (ctx.bizmonStart ?? end)) / 1000);
  if (failed) {
    recordResult(operation, 'error');
    instruments.application_errors_total.labels(errorTypeOf(error), 'cache').add(1);
  } else if (operation === 'get') {
    const [hits, misses] = lookupsIn(kind, result);
    recordLookups(hits, misses);
  } else recordResult(operation, 'success');
}

/** A MULTI-queued command's reply: `QUEUED`, raw (a Buffer) or decoded. */
function isQueuedReply(result: unknown): boolean {
  return (
    result === 'QUEUED' ||
    (Buffer.isBuffer(result) && result.length === 6 && result.toString('latin1') === 'QUEUED')
  );
}

/** Called when a command is sent (or queued while offline). */
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

/** Called when a command's reply or error arrived. */
export function onCommandEnd(ctx: CommandContext): void {
  try {
    const kind = ctx.bizmonKind;
    if (kind === undefined || ctx.bizmonIgnored) return;
    if (kind !== Kind.Ignore) {
      // Inside MULTI the reply is QUEUED; the real reply comes with EXEC.
      if (ctx.failed !== true && isQueuedReply(ctx.result)) return;
      finish(ctx, kind, ctx.result, ctx.failed === true, ctx.error, performance.now());
      return;
    }
    if (ctx.command !== 'exec' || !ctx.bizmonQueued) return;
    const queued = ctx.bizmonQueued.filter((q) => isQueuedReply(q.result));
    const replies = ctx.result;
    const end = performance.now();
    queued.forEach((q, i) => {
      const reply: unknown = Array.isArray(replies) ? replies[i] : undefined;
      // EXEC failing (EXECABORT) or aborted by WATCH (nil reply) fails every queued command.
      const kind = q.bizmonKind ?? Kind.Other;
      if (ctx.failed === true) finish(q, kind, reply, true, ctx.error, end);
      else if (!Array.isArray(replies))
        finish(q, kind, reply, true, new Error('transaction aborted'), end);
      else finish(q, kind, reply, reply instanceof Error, reply, end);
    });
  } catch (err) {
    warnRateLimited('cache-record', `could not record a Redis command: ${(err as Error).message}`);
  }
}
