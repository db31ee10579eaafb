/**
 * The `error_type` label of a thrown value, the one rule every package uses (http, db, cache,
 * business), so one alert query over `application_errors_total` sees one failure under one name.
 *
 * The vocabulary is bounded and never quotes a message (which can carry app data):
 * - A PostgreSQL server error (an object with a SQLSTATE `code` and a `severity`, as pg's
 *   DatabaseError and postgres.js's PostgresError have): its condition name, `unique_violation`,
 *   `deadlock_detected`…, else its SQLSTATE class's, else `database_error`.
 * - Any other object: the name it gives itself, when that looks like a class name (starts with a
 *   capital letter) and is not the base `Error`: `AbortError` from a DOMException, `ReplyError`
 *   from ioredis's RESP3 `SimpleError`, `ValidationError` set on an Error. Else its class name
 *   (`TypeError`, a custom subclass that kept the inherited `name`, pg's `DatabaseError` whose
 *   `name` is the protocol's `error`). When the class says nothing either (`Error`,
 *   `DOMException`, a plain or null-prototype object, an anonymous class): its `name` made
 *   label-safe, else the class name, else `object`.
 * - Anything else: its `typeof` — `string`, `number`, `boolean`, `bigint`, `symbol`, `function`,
 *   `undefined` — and `null` for null.
 * Names are label-safe: at most 64 characters of `[A-Za-z0-9_]`, others replaced by `_`; a name
 * with no letter or digit counts as none. An object whose properties throw is `object`.
 */

/** Longest name used as a label value; longer class names are cut. */
export const MAX_ERROR_TYPE_LENGTH = 64;

/** Classes that say nothing about the failure. */
const GENERIC_CLASSES: ReadonlySet<string> = new Set(['Error', 'DOMException', 'Object']);

const LABEL_SAFE = /^[A-Za-z0-9_]{1,64}$/;
/** A name an error gives itself that reads as a class name. */
const CLASS_LIKE = /^[A-Z][A-Za-z0-9_]{0,63}$/;
const UNSAFE_CHARS = /[^A-Za-z0-9_]/g;
const HAS_WORD_CHAR = /[A-Za-z0-9]/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Condition names of the SQLSTATEs an application usually meets (PostgreSQL Appendix A). */
const SQLSTATE_CONDITIONS: Readonly<Record<string, string>> = {
  '23502': 'not_null_violation',
  '23503': 'foreign_key_violation',
  '23505': 'unique_violation',
  '23514': 'check_violation',
  '23P01': 'exclusion_violation',
  '40001': 'serialization_failure',
  '40P01': 'deadlock_detected',
  '42601': 'syntax_error',
  '42501': 'insufficient_privilege',
  '42703': 'undefined_column',
  '42883': 'undefined_function',
  '42P01': 'undefined_table',
  '55P03': 'lock_not_available',
  '57014': 'query_canceled',
  '57P01': 'admin_shutdown',
  '53300': 'too_many_connections',
  '22P02': 'invalid_text_representation',
  '22001': 'string_data_right_truncation',
  '22003': 'numeric_value_out_of_range',
  '25P02': 'in_failed_sql_transaction',
};

/** Names of the SQLSTATE classes (the code's first two characters), for the other codes. */
const SQLSTATE_CLASSES: Readonly<Record<string, string>> = {
  '08': 'connection_exception',
  '0A': 'feature_not_supported',
  '21': 'cardinality_violation',
  '22': 'data_exception',
  '23': 'integrity_constraint_violation',
  '25': 'invalid_transaction_state',
  '28': 'invalid_authorization_specification',
  '2B': 'dependent_privilege_descriptors_still_exist',
  '3D': 'invalid_catalog_name',
  '3F': 'invalid_schema_name',
  '40': 'transaction_rollback',
  '42': 'syntax_error_or_access_rule_violation',
  '44': 'with_check_option_violation',
  '53': 'insufficient_resources',
  '54': 'program_limit_exceeded',
  '55': 'object_not_in_prerequisite_state',
  '57': 'operator_intervention',
  '58': 'system_error',
  F0: 'config_file_error',
  P0: 'plpgsql_error',
  XX: 'internal_error',
};

/**
 * The SQLSTATE of a PostgreSQL server error, else undefined. The `severity` check keeps Node's
 * five-letter system error codes (`EPIPE`, `EPERM`) on a socket error from passing as SQLSTATEs.
 */
export function sqlstateOf(thrown: unknown): string | undefined {
  try {
    if (thrown === null || typeof thrown !== 'object') return undefined;
    const { code, severity } = thrown as { code?: unknown; severity?: unknown };
    return typeof code === 'string' && typeof severity === 'string' && SQLSTATE.test(code)
      ? code
      : undefined;
  } catch {
    return undefined;
  }
}

/** The `error_type` label value of `thrown`, by the rule above. Never throws. */
export function errorTypeOf(thrown: unknown): string {
  if (thrown === null) return 'null';
  const kind = typeof thrown;
  if (kind !== 'object') return kind;
  try {
    const sqlstate = sqlstateOf(thrown);
    if (sqlstate !== undefined)
      return (
        SQLSTATE_CONDITIONS[sqlstate] ?? SQLSTATE_CLASSES[sqlstate.slice(0, 2)] ?? 'database_error'
      );
    const value = thrown as { constructor?: unknown; name?: unknown };
    const name = value.name;
    if (typeof name === 'string' && name !== 'Error' && CLASS_LIKE.test(name)) return name;
    const ctor = value.constructor;
    const className = typeof ctor === 'function' ? labelSafe(ctor.name) : undefined;
    if (className !== undefined && !GENERIC_CLASSES.has(className)) return className;
    return labelSafe(name) ?? (className === 'Object' ? undefined : className) ?? 'object';
  } catch {
    // A Proxy or a getter that throws: the failure still happened, its class is unknowable.
    return 'object';
  }
}

/** `name` made label-safe, or undefined when it is no name at all. */
function labelSafe(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  if (LABEL_SAFE.test(name)) return name;
  const cut = name.slice(0, MAX_ERROR_TYPE_LENGTH);
  return HAS_WORD_CHAR.test(cut) ? cut.replace(UNSAFE_CHARS, '_') : undefined;
}
