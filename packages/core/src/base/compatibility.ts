/**
 * Which other versions of @bizmon/core may share this one's process state (state.ts). Modelled
 * on @opentelemetry/api's `internal/semver.ts`.
 */

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-(.+))?$/;

/** A version's major number as text (`'0'` for 0.1.0), or undefined when it is not semver. */
export function majorOf(version: string): string | undefined {
  return SEMVER.exec(version)?.[1];
}

/**
 * Whether two copies of @bizmon/core can share one process state: the same major version (the
 * same minor too below 1.0, where a minor may break), and no pre-release unless both are the
 * same pre-release. Unlike @opentelemetry/api's check this is symmetric: there an API copy only
 * calls into a global that another copy registered, so an older caller may use a newer global
 * but not the reverse; here every copy both creates and reads the shared families, so an
 * asymmetric rule would turn one load order into the very split this state exists to avoid.
 * What makes symmetry safe is the rule state.ts states for the shape of the state: within a
 * major it only grows, with optional fields that every copy does without.
 */
export function isCompatibleVersion(own: string, other: string): boolean {
  if (own === other) return SEMVER.test(own);
  const a = SEMVER.exec(own);
  const b = SEMVER.exec(other);
  if (!a || !b) return false;
  if (a[4] !== undefined || b[4] !== undefined) return false;
  if (a[1] !== b[1]) return false;
  return a[1] !== '0' || a[2] === b[2];
}
