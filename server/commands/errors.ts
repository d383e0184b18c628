// Errors the shared commands raise on purpose. The CLI prints the message and
// exits 1; the GraphQL layer puts `code` in `extensions.code`.
import type { z } from 'zod';

/** Every code a DomainError can carry; stable, clients match on them. */
export const DOMAIN_ERROR_CODES = [
  'INVALID_INPUT',
  'USER_EXISTS',
  'USER_NOT_FOUND',
  'LDAP_USER',
  'LAST_ADMIN',
  'KEY_EXISTS',
  'KEY_NOT_FOUND',
  'FEED_NOT_FOUND',
] as const;

/** One of DOMAIN_ERROR_CODES (a plain string is accepted too, for codes added by later commands). */
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number] | (string & {});

/** An expected failure with a stable machine-readable code and a message fit to show a user. */
export class DomainError extends Error {
  override name = 'DomainError';

  constructor(
    public code: DomainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Whether `err` is a DomainError (optionally with one of `codes`). */
export function isDomainError(err: unknown, ...codes: DomainErrorCode[]): err is DomainError {
  return err instanceof DomainError && (codes.length === 0 || codes.includes(err.code));
}

/** The Prisma error code (`P2002` unique violation, `P2003` foreign key, `P2025` not found) of `err`, if it has one. */
export function prismaErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' && /^P\d{4}$/.test(code) ? code : undefined;
}

/** A value quoted for an error message: 'name', or JSON when it holds odd characters; long values are cut. */
export function quote(value: string): string {
  const cut = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return /^[\x20-\x26\x28-\x7e]*$/.test(cut) ? `'${cut}'` : JSON.stringify(cut);
}

/** Parses command input with a zod schema; the first problem becomes an INVALID_INPUT DomainError. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new DomainError('INVALID_INPUT', r.error.issues[0]?.message ?? 'invalid input');
}
