// Option values shared by the `key` subcommands.
import { DomainError } from '../../commands/errors.js';

/** The `key` group's description. */
export const KEY_GROUP = ['key', 'manage registration keys'] as const;

/** `--server-limit` value: a whole number, or none/unlimited for no limit. */
export function parseServerLimit(value: string): number | null {
  const v = value.trim().toLowerCase();
  if (v === 'none' || v === 'unlimited') return null;
  if (!/^[+-]?\d+$/.test(v)) throw new DomainError('INVALID_INPUT', `invalid server limit '${value}': give a whole number, or none for no limit`);
  return Number(v);
}
