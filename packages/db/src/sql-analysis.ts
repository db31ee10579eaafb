import { T, tokenize, type Token } from './sql-tokenizer';

/**
 * Operation and first table of a SQL statement, for the `operation` and `table` labels.
 *
 * Not a SQL parser: a tokenizer (sql-tokenizer.ts) that drops every literal (strings, dollar quotes, numbers,
 * parameters) and comments, plus a few rules per leading keyword. Labels are built only from
 * identifier and keyword tokens, so literal values never reach a label. Results are cached per
 * statement text, so each distinct text is scanned once.
 */

/** What parseStatement reports. */
export interface ParsedStatement {
  /** Leading keyword upper-cased (SELECT, INSERT, BEGIN, …), `UNKNOWN` when there is none. */
  operation: string;
  /**
   * First table the statement names; schema-qualified names keep the schema, unquoted names are
   * folded to lower case as PostgreSQL does; `unknown` when there is none.
   */
  table: string;
}

export const UNKNOWN_TABLE = 'unknown';
export const UNKNOWN_OPERATION = 'UNKNOWN';

/** Texts longer than this usually inline their values (bulk inserts) and are not cached. */
const MAX_CACHED_TEXT = 4096;
const CACHE_SIZE = 1000;

/** Words after which `(` opens a subquery or a list, not a function's arguments. */
const NON_FUNCTION_WORDS = new Set([
  'from',
  'join',
  'in',
  'exists',
  'as',
  'any',
  'all',
  'some',
  'lateral',
  'select',
  'where',
  'and',
  'or',
  'not',
  'on',
  'union',
  'intersect',
  'except',
  'values',
  'using',
  'with',
  'then',
  'else',
  'when',
  'case',
  'by',
  'having',
  'returning',
  'set',
  'into',
  'table',
  'only',
  'is',
  'materialized',
]);

/** Words that end a table reference's name when they follow FROM/JOIN directly. */
const NOT_A_TABLE = new Set(['select', 'values', 'with', 'lateral', 'only', 'rows', 'unnest']);

interface Name {
  label: string;
  end: number; // index after the name
}

function isIdent(tok: Token | undefined): boolean {
  return tok !== undefined && (tok.t === T.Word || tok.t === T.Quoted);
}

/** Reads `a`, `a.b`, `"A"."b"` at `i`. */
function readName(toks: Token[], i: number): Name | undefined {
  if (!isIdent(toks[i])) return undefined;
  let label = toks[i]!.v;
  let j = i + 1;
  while (toks[j]?.t === T.Punct && toks[j]!.v === '.' && isIdent(toks[j + 1])) {
    label += '.' + toks[j + 1]!.v;
    j += 2;
  }
  if (label.length === 0 || label.length > 200) return undefined;
  return { label, end: j };
}

function isWord(tok: Token | undefined, word: string): boolean {
  return tok !== undefined && tok.t === T.Word && tok.v === word;
}

function isPunct(tok: Token | undefined, p: string): boolean {
  return tok !== undefined && tok.t === T.Punct && tok.v === p;
}

/** Index after the parenthesised group that opens at `i`. */
function skipParens(toks: Token[], i: number, end: number): number {
  let depth = 0;
  for (let j = i; j < end; j++) {
    if (isPunct(toks[j], '(')) depth++;
    else if (isPunct(toks[j], ')') && --depth === 0) return j + 1;
  }
  return end;
}

function skipWords(toks: Token[], i: number, words: readonly string[]): number {
  while (toks[i]?.t === T.Word && words.includes(toks[i]!.v)) i++;
  return i;
}

/**
 * A table named directly at `i`: not a subquery, and after FROM/JOIN (`fromItem`) not a
 * function call either (a target's name may be followed by its column list).
 */
function tableAt(
  toks: Token[],
  i: number,
  ctes: ReadonlySet<string>,
  fromItem = false,
): string | undefined {
  if (toks[i]?.t === T.Word && NOT_A_TABLE.has(toks[i]!.v)) return undefined;
  const name = readName(toks, i);
  if (!name || (fromItem && isPunct(toks[name.end], '('))) return undefined;
  if (ctes.has(name.label)) return undefined;
  return name.label;
}

/** First table after FROM or JOIN in toks[start, end), subqueries included. */
function firstFromTable(
  toks: Token[],
  start: number,
  end: number,
  ctes: ReadonlySet<string>,
): string | undefined {
  // One entry per open parenthesis: whether it holds a function's arguments, where
  // `EXTRACT(x FROM y)`, `substring(s FROM 2)` and `trim(… FROM s)` use FROM without a table.
  const functionParen: boolean[] = [];
  for (let j = start; j < end; j++) {
    const tok = toks[j]!;
    if (tok.t === T.Punct) {
      if (tok.v === '(') {
        const prev = toks[j - 1];
        functionParen.push(
          isIdent(prev) && !(prev!.t === T.Word && NON_FUNCTION_WORDS.has(prev!.v)),
        );
      } else if (tok.v === ')') functionParen.pop();
      continue;
    }
    if (tok.t !== T.Word || (tok.v !== 'from' && tok.v !== 'join')) continue;
    if (functionParen.length > 0 && functionParen[functionParen.length - 1]) continue;
    if (tok.v === 'from' && isWord(toks[j - 1], 'distinct')) continue; // IS DISTINCT FROM
    const k = skipWords(toks, j + 1, ['only', 'lateral']);
    const table = tableAt(toks, k, ctes, true);
    if (table !== undefined) return table;
  }
  return undefined;
}

interface Cte {
  start: number;
  end: number;
}

interface Analysis {
  operation: string;
  table: string | undefined;
}

function operationOf(tok: Token | undefined): string {
  if (tok?.t !== T.Word || !/^[a-z]{1,32}$/.test(tok.v)) return UNKNOWN_OPERATION;
  return tok.v.toUpperCase();
}

/** Operation and first table of the statement in toks[start, end). */
function analyze(
  toks: Token[],
  start: number,
  end: number,
  outerCtes: ReadonlySet<string>,
): Analysis {
  let i = start;
  while (isPunct(toks[i], '(') && i < end) i++;
  const ctes = new Set(outerCtes);
  const bodies: Cte[] = [];
  if (isWord(toks[i], 'with')) {
    i = skipWords(toks, i + 1, ['recursive']);
    while (i < end) {
      const name = readName(toks, i);
      if (!name) break;
      ctes.add(name.label);
      i = name.end;
      if (isPunct(toks[i], '(')) i = skipParens(toks, i, end); // column list
      if (!isWord(toks[i], 'as')) break;
      i = skipWords(toks, i + 1, ['not', 'materialized']);
      if (!isPunct(toks[i], '(')) break;
      const close = skipParens(toks, i, end);
      bodies.push({ start: i + 1, end: close - 1 });
      i = close;
      // SEARCH/CYCLE clauses of recursive CTEs come before the comma.
      while (
        i < end &&
        !isPunct(toks[i], ',') &&
        toks[i]?.t === T.Word &&
        !['select', 'insert', 'update', 'delete', 'merge', 'values', 'table'].includes(toks[i]!.v)
      )
        i++;
      if (!isPunct(toks[i], ',')) break;
      i++;
    }
  }
  const operation = operationOf(toks[i]);
  const table = tableOf(toks, i, end, ctes) ?? firstInBodies(toks, bodies, ctes);
  return { operation, table };
}

function firstInBodies(
  toks: Token[],
  bodies: Cte[],
  ctes: ReadonlySet<string>,
): string | undefined {
  for (const body of bodies) {
    const { table } = analyze(toks, body.start, body.end, ctes);
    if (table !== undefined) return table;
  }
  return undefined;
}

function tableOf(
  toks: Token[],
  i: number,
  end: number,
  ctes: ReadonlySet<string>,
): string | undefined {
  const keyword = toks[i]?.t === T.Word ? toks[i]!.v : '';
  const at = (k: number): string | undefined => tableAt(toks, k, ctes);
  switch (keyword) {
    case 'select':
    case 'values':
      return firstFromTable(toks, i + 1, end, ctes);
    case 'table':
      return at(skipWords(toks, i + 1, ['only']));
    case 'insert':
      return isWord(toks[i + 1], 'into') ? at(i + 2) : undefined;
    case 'update':
      return at(skipWords(toks, i + 1, ['only']));
    case 'delete':
      return isWord(toks[i + 1], 'from') ? at(skipWords(toks, i + 2, ['only'])) : undefined;
    case 'merge':
      return isWord(toks[i + 1], 'into') ? at(skipWords(toks, i + 2, ['only'])) : undefined;
    case 'truncate':
    case 'lock':
      return at(skipWords(toks, i + 1, ['table', 'only']));
    case 'copy':
      if (isPunct(toks[i + 1], '('))
        return analyze(toks, i + 2, skipParens(toks, i + 1, end) - 1, ctes).table;
      return at(i + 1);
    case 'create':
    case 'alter':
    case 'drop':
      return ddlTable(toks, i + 1, end, keyword, ctes);
    case 'vacuum':
    case 'analyze':
    case 'analyse':
    case 'cluster':
    case 'reindex': {
      let k = i + 1;
      if (isPunct(toks[k], '(')) k = skipParens(toks, k, end);
      k = skipWords(toks, k, [
        'full',
        'freeze',
        'verbose',
        'analyze',
        'analyse',
        'table',
        'index',
        'concurrently',
      ]);
      return at(k);
    }
    case 'explain': {
      let k = i + 1;
      if (isPunct(toks[k], '(')) k = skipParens(toks, k, end);
      k = skipWords(toks, k, ['analyze', 'analyse', 'verbose']);
      return analyze(toks, k, end, ctes).table;
    }
    case 'prepare': {
      let k = i + 2; // PREPARE name
      if (isPunct(toks[k], '(')) k = skipParens(toks, k, end);
      return isWord(toks[k], 'as') ? analyze(toks, k + 1, end, ctes).table : undefined;
    }
    case 'declare': {
      // DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH HOLD] FOR query
      for (let k = i + 1; k < end; k++)
        if (isWord(toks[k], 'for')) return analyze(toks, k + 1, end, ctes).table;
      return undefined;
    }
    default:
      return undefined;
  }
}

const DDL_MODIFIERS = [
  'or',
  'replace',
  'temp',
  'temporary',
  'unlogged',
  'global',
  'local',
  'materialized',
  'recursive',
  'unique',
  'foreign',
];

function ddlTable(
  toks: Token[],
  i: number,
  end: number,
  verb: string,
  ctes: ReadonlySet<string>,
): string | undefined {
  let k = skipWords(toks, i, DDL_MODIFIERS);
  const kind = toks[k]?.t === T.Word ? toks[k]!.v : '';
  if (kind === 'index') {
    if (verb !== 'create') return undefined;
    for (let j = k + 1; j < end; j++)
      if (isWord(toks[j], 'on')) return tableAt(toks, skipWords(toks, j + 1, ['only']), ctes);
    return undefined;
  }
  if (kind !== 'table' && kind !== 'view' && kind !== 'sequence') return undefined;
  k = skipWords(toks, k + 1, ['if', 'not', 'exists', 'only']);
  return tableAt(toks, k, ctes);
}

/** Splits at top-level semicolons and reports the first statement that names a table. */
function parse(sql: string): ParsedStatement {
  const toks = tokenize(sql);
  let first: Analysis | undefined;
  let start = 0;
  let depth = 0;
  for (let j = 0; j <= toks.length; j++) {
    const tok = toks[j];
    if (tok?.t === T.Punct) {
      if (tok.v === '(') depth++;
      else if (tok.v === ')') depth = Math.max(0, depth - 1);
    }
    if (j === toks.length || (depth === 0 && isPunct(tok, ';'))) {
      if (j > start) {
        const a = analyze(toks, start, j, new Set());
        if (a.table !== undefined) return { operation: a.operation, table: a.table };
        first ??= a;
      }
      start = j + 1;
    }
  }
  return { operation: first?.operation ?? UNKNOWN_OPERATION, table: UNKNOWN_TABLE };
}

const cache = new Map<string, ParsedStatement>();

/**
 * The operation (leading keyword, upper-cased) and first table of `sql`, as they appear in
 * `db_query_duration_seconds{table,operation}`. In a multi-statement string the first statement
 * that names a table decides (`BEGIN; UPDATE t …; COMMIT` → UPDATE t). A CTE's name is not a
 * table: `WITH r AS (SELECT … FROM orders) SELECT … FROM r` → SELECT orders. Never throws.
 */
export function parseStatement(sql: string): ParsedStatement {
  if (typeof sql !== 'string') return { operation: UNKNOWN_OPERATION, table: UNKNOWN_TABLE };
  const cached = cache.get(sql);
  if (cached !== undefined) return cached;
  let parsed: ParsedStatement;
  try {
    parsed = Object.freeze(parse(sql));
  } catch {
    parsed = Object.freeze({ operation: UNKNOWN_OPERATION, table: UNKNOWN_TABLE });
  }
  if (sql.length <= MAX_CACHED_TEXT) {
    // Insertion-ordered Map as a FIFO: a hit costs one lookup; a statement evicted while still
    // in use is simply scanned again.
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(sql, parsed);
  }
  return parsed;
}
