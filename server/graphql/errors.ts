// The one place where failures become what clients see. Expected failures
// (DomainError from the commands, auth failures, Prisma constraint errors that
// slipped past a command) carry a stable `extensions.code`; anything else is
// masked as "Unexpected error." with code INTERNAL_SERVER_ERROR and logged
// server-side. No stack trace ever leaves the process.
import type { GraphQLError } from 'graphql';
import { createGraphQLError, handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import { DomainError, prismaErrorCode } from '../commands/errors.js';

/** Codes raised by the API layer itself (DomainError codes come from the commands). */
export const API_ERROR_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'READ_ONLY', 'CSRF', 'QUERY_TOO_COMPLEX', 'CONFLICT', 'NOT_FOUND', 'INVALID_REFERENCE', 'INTERNAL_SERVER_ERROR'] as const;

/**
 * Whether `e` is a GraphQLError of any copy of graphql-js (under test runners
 * the CommonJS and ESM builds can both be loaded, and instanceof fails across
 * them; for the same reason errors are made with yoga's createGraphQLError,
 * which uses the copy yoga, graphql-ws and Pothos share).
 */
export function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof Error && e.name === 'GraphQLError';
}

/** A GraphQLError with a stable code. */
export function codedError(code: string, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return createGraphQLError(message, { extensions: { code, ...extra } });
}

const PRISMA_CODES: Record<string, [string, string]> = {
  P2002: ['CONFLICT', 'a record with that name already exists'],
  P2003: ['INVALID_REFERENCE', 'a referenced record does not exist'],
  P2025: ['NOT_FOUND', 'the record does not exist'],
};

/** The client-facing form of an expected error; null when the error is unexpected (to be masked). */
export function expectedError(err: unknown): { code: string; message: string; extra: Record<string, unknown> } | null {
  if (err instanceof DomainError) {
    const extra: Record<string, unknown> = {};
    const retry = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (typeof retry === 'number') extra.retryAfterSeconds = retry;
    return { code: err.code, message: err.message, extra };
  }
  const prisma = prismaErrorCode(err);
  if (prisma && PRISMA_CODES[prisma]) {
    const [code, message] = PRISMA_CODES[prisma];
    return { code, message, extra: {} };
  }
  if (isGraphQLError(err) && typeof err.extensions?.code === 'string' && !err.originalError) {
    return { code: err.extensions.code, message: err.message, extra: { ...err.extensions } };
  }
  return null;
}

function mapError(e: GraphQLError): GraphQLError {
  if (!e.originalError) return e;
  const found = expectedError(e.originalError);
  if (!found) return e;
  return createGraphQLError(found.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, extensions: { ...found.extra, code: found.code } });
}

function mapResult(result: ExecutionResult, setResult: (r: ExecutionResult) => void): void {
  if (result.errors?.length) setResult({ ...result, errors: result.errors.map(mapError) });
}

/** Envelop plugin: turns expected errors in results into coded GraphQLErrors before yoga masks the rest. */
export function useExpectedErrors(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone: (payload) =>
        handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => mapResult(result, setResult)),
    }),
    onSubscribe: () => ({
      onSubscribeResult: (payload) =>
        handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => mapResult(result, setResult)),
    }),
  };
}

/** yoga's maskError: expected errors keep their code, everything else becomes "Unexpected error." */
export function maskError(error: unknown, message: string): Error {
  const original = isGraphQLError(error) && error.originalError ? error.originalError : error;
  const found = expectedError(original);
  const where = isGraphQLError(error) ? { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path } : {};
  if (found) return createGraphQLError(found.message, { ...where, extensions: { ...found.extra, code: found.code } });
  if (isGraphQLError(error) && !error.originalError) return error; // parse/validation errors
  return createGraphQLError(message, { ...where, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}
