import { performance } from 'node:perf_hooks';
import { instruments, warnRateLimited } from '@bizmon/core';
import { Kind, kindOf, lookupsIn, operationOf } from './commands';
import { recordDuration, recordLookups, recordResult } from './record';

/**
 * The context of one Redis command, built by the instrumentation's sendCommand wrapper: its
 * name, client and start time, then the raw reply (`result`) or the `error`.
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
      if (ctx.error === undefined && isQueuedReply(ctx.result)) return;
      finish(ctx, kind, ctx.result, ctx.error, performance.now());
      return;
    }
    if (ctx.command !== 'exec' || !ctx.bizmonQueued) return;
    const queued = ctx.bizmonQueued.filter((q) => isQueuedReply(q.result));
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
