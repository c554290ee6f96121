/**
 * Recognising database errors on both drivers. pg's DatabaseError and PGlite's error both
 * carry PostgreSQL's SQLSTATE in `code` and the violated constraint in `constraint`.
 */

const uniqueViolation = '23505';

interface PostgresErrorFields {
  code?: unknown;
  constraint?: unknown;
  severity?: unknown;
}

/** The SQLSTATE of a PostgreSQL error (from either driver, also when wrapped as a cause). */
export function postgresErrorCode(error: unknown): string | undefined {
  return findPostgresError(error)?.code as string | undefined;
}

/**
 * Whether an error is a unique-constraint violation, optionally of one named constraint
 * (a repository maps this to RESOURCE_ALREADY_EXISTS).
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const found = findPostgresError(error);
  if (found?.code !== uniqueViolation) return false;
  return constraint === undefined || found.constraint === constraint;
}

function findPostgresError(error: unknown): PostgresErrorFields | undefined {
  let current: unknown = error;
  // Bounded, because a cause chain can be cyclic.
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const fields = current as PostgresErrorFields & { cause?: unknown };
    // `severity` tells a server error from a Node one with a similar code (EPIPE).
    if (typeof fields.severity === 'string' && typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code)) {
      return fields;
    }
    current = fields.cause;
  }
  return undefined;
}
