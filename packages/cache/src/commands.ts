import type { CacheOperation } from './record';

/** How a Redis command's reply is read. */
export const enum Kind {
  /** Not a cache operation: connection handshake, bizmon's own INFO/PING, MULTI/EXEC wrappers. */
  Ignore,
  /** One value: hit unless the reply is nil. */
  GetOne,
  /** Several values (MGET, HMGET): one hit or miss per key. */
  GetMany,
  /** A whole hash (HGETALL): hit unless empty. */
  GetAll,
  Set,
  Delete,
  Other,
}

const KINDS = new Map<string, Kind>();
for (const name of [
  'hello',
  'auth',
  'client',
  'info',
  'select',
  'readonly',
  'readwrite',
  'cluster',
  'ping',
  'quit',
  'asking',
  'multi',
  'exec',
  'discard',
  'command',
])
  KINDS.set(name, Kind.Ignore);
for (const name of ['get', 'getex', 'getdel', 'hget']) KINDS.set(name, Kind.GetOne);
for (const name of ['mget', 'hmget']) KINDS.set(name, Kind.GetMany);
KINDS.set('hgetall', Kind.GetAll);
for (const name of [
  'set',
  'setex',
  'psetex',
  'setnx',
  'mset',
  'msetnx',
  'getset',
  'append',
  'setrange',
  'hset',
  'hmset',
  'hsetnx',
  'incr',
  'incrby',
  'incrbyfloat',
  'decr',
  'decrby',
  'hincrby',
  'hincrbyfloat',
  'lpush',
  'rpush',
  'sadd',
  'zadd',
])
  KINDS.set(name, Kind.Set);
for (const name of ['del', 'unlink', 'hdel']) KINDS.set(name, Kind.Delete);

/** The kind of a command, by its lower-case name. */
export function kindOf(command: string): Kind {
  return KINDS.get(command) ?? KINDS.get(command.toLowerCase()) ?? Kind.Other;
}

/** The `operation` label of a kind. */
export function operationOf(kind: Kind): CacheOperation {
  switch (kind) {
    case Kind.GetOne:
    case Kind.GetMany:
    case Kind.GetAll:
      return 'get';
    case Kind.Set:
      return 'set';
    case Kind.Delete:
      return 'delete';
    default:
      return 'other';
  }
}

/** Hits and misses in a get-like reply. */
export function lookupsIn(kind: Kind, reply: unknown): [hits: number, misses: number] {
  if (kind === Kind.GetOne) return reply === null || reply === undefined ? [0, 1] : [1, 0];
  if (kind === Kind.GetMany) {
    if (!Array.isArray(reply)) return [0, 0];
    let hits = 0;
    for (const v of reply) if (v !== null && v !== undefined) hits++;
    return [hits, reply.length - hits];
  }
  // HGETALL: an object from ioredis's reply transformer, a flat array from older versions.
  const empty =
    reply === null ||
    reply === undefined ||
    (Array.isArray(reply)
      ? reply.length === 0
      : typeof reply === 'object' && Object.keys(reply).length === 0);
  return empty ? [0, 1] : [1, 0];
}
