/**
 * `error_type` of application_errors_total{component="db"}: a bounded name, never the message
 * (which can quote values). PostgreSQL errors are named by their SQLSTATE condition (the
 * specific condition for common ones, else the class); other errors by their class name.
 */

/** SQLSTATE of a deadlock (db_deadlocks_total). */
export const DEADLOCK_SQLSTATE = '40P01';

const CONDITIONS: Readonly<Record<string, string>> = {
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

const CLASSES: Readonly<Record<string, string>> = {
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

const CLASS_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The SQLSTATE of a pg error, if it has one. */
export function sqlstateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Bounded error_type for `err`. */
export function errorTypeOf(err: unknown): string {
  const code = sqlstateOf(err);
  if (code !== undefined) return CONDITIONS[code] ?? CLASSES[code.slice(0, 2)] ?? 'database_error';
  const name = (err as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && CLASS_NAME.test(name) ? name : 'Error';
}
