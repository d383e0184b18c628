// GraphQL subscriptions over graphql-ws on the same port (/graphql). The
// upgrade request carries the session cookie; one socket is shared by every
// subscription and closed when the last one ends (lazy client).
import { createClient, type Client } from 'graphql-ws';
import { ApiError, GRAPHQL_PATH } from './client.js';
import type { Document } from './operations.js';

/** Whether the live connection is up (for the "live" indicator). */
export const liveState = $state({ connected: false });

let client: Client | null = null;

function wsUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${GRAPHQL_PATH}`;
}

function getClient(): Client {
  client ??= createClient({
    url: wsUrl(),
    lazy: true,
    lazyCloseTimeout: 1_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    // 4401/4403: signed out or revoked; retrying cannot help
    shouldRetry: (e) => !(e instanceof CloseEvent && (e.code === 4401 || e.code === 4403)),
    retryWait: async (retries) => new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** retries))),
    on: {
      connected: () => void (liveState.connected = true),
      closed: () => void (liveState.connected = false),
    },
  });
  return client;
}

/** Subscribes; returns the function that ends the subscription. */
export function subscribe<R>(document: Document<R, Record<string, never>>, onData: (data: R) => void, onError: (err: ApiError) => void): () => void {
  return getClient().subscribe<R>(
    { query: document },
    {
      next: (result) => {
        const first = result.errors?.[0];
        if (first) {
          const code = typeof first.extensions?.code === 'string' ? first.extensions.code : 'INTERNAL_SERVER_ERROR';
          onError(new ApiError(first.message, code));
        } else if (result.data) onData(result.data);
      },
      error: (err) => {
        if (Array.isArray(err)) {
          const e = err[0] as { message?: string; extensions?: { code?: string } } | undefined;
          onError(new ApiError(e?.message ?? 'subscription refused', e?.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
        } else if (err instanceof CloseEvent && (err.code === 4401 || err.code === 4403)) {
          onError(new ApiError('Your session has ended.', 'UNAUTHENTICATED'));
        } else onError(new ApiError('The live connection to the portal failed.', 'NETWORK'));
      },
      complete: () => {},
    },
  );
}

/** Closes the socket (sign-out: the next subscription connects with the new cookie). */
export async function closeLive(): Promise<void> {
  const c = client;
  client = null;
  liveState.connected = false;
  await c?.dispose();
}
