// GraphQL over HTTP: POST /graphql as application/json (the server refuses a
// cookie session on anything else: CSRF rule), with the session cookie.
import type { Document } from './operations.js';

/** An error the API answered with (or a transport failure), with its stable code. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    /** `extensions.code`, or NETWORK / HTTP_<status> for transport failures */
    public readonly code: string,
    public readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface GraphQLResponse<R> {
  data?: R | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** The GraphQL endpoint (same origin as the console). */
export const GRAPHQL_PATH = '/graphql';

/** Runs one query or mutation; throws ApiError on any error in the answer. */
export async function gql<R, V>(document: Document<R, V>, variables?: V, fetcher: typeof fetch = fetch): Promise<R> {
  let res: Response;
  try {
    res = await fetcher(GRAPHQL_PATH, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: document, variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError('The portal cannot be reached.', 'NETWORK');
  }
  let body: GraphQLResponse<R>;
  try {
    body = (await res.json()) as GraphQLResponse<R>;
  } catch {
    throw new ApiError(`The portal answered HTTP ${res.status}.`, `HTTP_${res.status}`);
  }
  const first = body.errors?.[0];
  if (first) {
    const code = typeof first.extensions?.code === 'string' ? first.extensions.code : 'INTERNAL_SERVER_ERROR';
    throw new ApiError(first.message, code, first.extensions ?? {});
  }
  if (!body.data) throw new ApiError(`The portal answered HTTP ${res.status} without data.`, `HTTP_${res.status}`);
  return body.data;
}
