// Test helpers for the GraphQL API: an HTTP client that keeps the session
// cookie, users, and WebSocket clients (graphql-ws) with a cookie or a token.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { App } from '../../server/app.js';
import { addUser } from '../../server/commands/users.js';
import { createGraphQLServer, type GraphQLDeps, type GraphQLServer } from '../../server/graphql/server.js';
import { startTestPortal, type TestPortal } from '../support/portal.js';

/** What /graphql answered. */
export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data: T | null;
  errors: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
  /** first error's code, if any */
  code: string | undefined;
}

/** A GraphQL-over-HTTP client with a cookie jar of one cookie. */
export class Gql {
  cookie: string | undefined;
  apiKey: string | undefined;

  constructor(readonly url: string) {}

  /** POSTs an operation as application/json (plus any extra headers / raw body). */
  async request<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, opts: { headers?: Record<string, string>; body?: string; method?: string } = {}): Promise<GqlResponse<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (this.apiKey) headers['x-api-key'] = this.apiKey;
    const res = await fetch(`${this.url}/graphql`, { method: opts.method ?? 'POST', headers, body: opts.method === 'GET' ? undefined : (opts.body ?? JSON.stringify({ query, variables })) });
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('eportal_session='));
    if (setCookie) {
      const value = setCookie.split(';')[0]!;
      this.cookie = value === 'eportal_session=' ? undefined : value;
    }
    const text = await res.text();
    let json: { data?: T; errors?: GqlResponse['errors'] } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      json = { errors: [{ message: text }] };
    }
    const errors = json.errors ?? [];
    return { status: res.status, headers: res.headers, data: json.data ?? null, errors, code: errors[0]?.extensions?.code };
  }

  /** Signs in; throws on failure. */
  async login(username: string, password: string): Promise<this> {
    const r = await this.request(`mutation($u: String!, $p: String!) { login(username: $u, password: $p) { user { username } } }`, { u: username, p: password });
    if (r.errors.length) throw new Error(`login ${username}: ${r.errors[0]!.message}`);
    return this;
  }
}

/** Password of every user made by startApiPortal. */
export const PASSWORD = 'correct horse battery';

/** A portal with an admin ("admin") and a read-only user ("viewer"). */
export async function startApiPortal(env: Record<string, string> = {}): Promise<TestPortal & { admin: () => Promise<Gql>; viewer: () => Promise<Gql>; anon: () => Gql }> {
  const portal = await startTestPortal(env);
  await addUser(portal.app.db.prisma, 'admin', PASSWORD);
  await addUser(portal.app.db.prisma, 'viewer', PASSWORD, { readOnly: true });
  return {
    ...portal,
    admin: () => new Gql(portal.url).login('admin', PASSWORD),
    viewer: () => new Gql(portal.url).login('viewer', PASSWORD),
    anon: () => new Gql(portal.url),
  };
}

/** A graphql-ws client; `cookie` goes on the upgrade request, `connectionParams` in connection_init. */
export function wsClient(url: string, opts: { cookie?: string; connectionParams?: Record<string, unknown>; origin?: string } = {}): Client {
  const headers: Record<string, string> = {};
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.origin) headers.origin = opts.origin;
  class Ws extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  return createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: Ws,
    connectionParams: opts.connectionParams,
    retryAttempts: 0,
    lazy: true,
  });
}

/** Collects values of a subscription until `until` says stop (or the timeout), then unsubscribes. */
export async function collect<T>(client: Client, query: string, until: (values: T[]) => boolean, timeoutMs = 5000): Promise<T[]> {
  const values: T[] = [];
  const it = client.iterate<T>({ query });
  const timer = setTimeout(() => void it.return?.(), timeoutMs);
  try {
    for await (const r of it) {
      if (r.errors?.length) throw new Error(r.errors.map((e) => e.message).join('; '));
      values.push(r.data as T);
      if (until(values)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return values;
}

/** Waits until `check` passes (polling). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A second GraphQL endpoint over a running portal's database, with other deps (a counting Prisma client, tighter limits...). */
export async function startExtraGraphQL(app: App, overrides: Partial<GraphQLDeps> = {}): Promise<{ url: string; gql: GraphQLServer; close(): Promise<void> }> {
  const gql = createGraphQLServer({
    config: app.config,
    db: app.db,
    events: app.events,
    index: app.agent.index,
    checkins: app.agent.checkins,
    log: app.log,
    now: Date.now,
    startedAt: Date.now(),
    ...overrides,
  });
  const server = http.createServer((req, res) => void gql.handle(req, res));
  gql.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    gql,
    async close() {
      await gql.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
