// GraphQL over WebSocket (graphql-ws protocol) on /graphql of the same port.
// Same auth as HTTP: the session cookie of the upgrade request, or an API
// token in the connection parameters ({ apiKey } or { Authorization: "Bearer
// ..." }). No credential: closed with 4403. Credentials are checked again on
// every subscribe (role changes apply at once), when the portal revokes them
// (logout, password change, token revoked, user deleted: 4401), and every
// recheckMs for changes made by other processes.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExecutionArgs } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RequestAuth } from '../../auth/principal.js';
import { authenticate, credentialsFromConnectionParams, credentialsFromHeaders, type PresentedCredentials } from '../../auth/request-auth.js';
import type { Config } from '../../config.js';
import type { PortalEvents, PortalEventMap } from '../../events.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { Logger } from '../../log.js';
import { isGraphQLError } from '../errors.js';
import type { Yoga } from '../server.js';
import { MAX_BODY_BYTES } from './http.js';
import { requestInfo, sameOrigin } from './request-checks.js';

/** Open WebSocket connections accepted at once. */
export const MAX_SOCKETS = 10_000;
/** Operations one connection may run at once. */
export const MAX_OPERATIONS_PER_SOCKET = 20;

interface Connection {
  creds: PresentedCredentials;
  auth: RequestAuth;
  request: http.IncomingMessage;
}

/** The WebSocket side of /graphql; close() ends every connection. */
export interface WebSocketEndpoint {
  close(): Promise<void>;
}

interface WsDeps {
  prisma: PrismaClient;
  config: Config;
  events: PortalEvents;
  log: Logger;
  now: () => number;
  recheckMs: number;
}

type Extra = { socket: WebSocket; request: http.IncomingMessage };

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Serves graphql-ws on the HTTP server's upgrades to /graphql. */
export function attachWebSocket(server: http.Server, yoga: Yoga, deps: WsDeps): WebSocketEndpoint {
  const { prisma, config, log, now } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  const connections = new Map<WebSocket, Connection>();

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0]!.replace(/\/+/g, '/');
    if (path !== '/graphql') return refuse(socket, 404, 'Not Found');
    if (!sameOrigin(req, config.publicUrl)) return refuse(socket, 403, 'Forbidden');
    if (wss.clients.size >= MAX_SOCKETS) return refuse(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  server.on('upgrade', onUpgrade);

  const recheck = async (ws: WebSocket, c: Connection) => {
    const out = await authenticate(prisma, c.creds, now()).catch(() => null);
    if (!out?.ok || !out.auth.user) ws.close(4401, 'Unauthorized');
    else c.auth = out.auth;
  };

  const onRevoked = (e: PortalEventMap['credentialsRevoked'][0]) => {
    for (const [ws, c] of connections) {
      const hit = (c.auth.sessionId !== undefined && e.sessionIds?.includes(c.auth.sessionId)) ||
        (c.auth.tokenId !== undefined && e.tokenIds?.includes(c.auth.tokenId)) ||
        (e.userId !== undefined && c.auth.user?.id === e.userId);
      if (hit) void recheck(ws, c);
    }
  };
  deps.events.on('credentialsRevoked', onRevoked);
  const sweep = setInterval(() => {
    for (const [ws, c] of connections) void recheck(ws, c);
  }, deps.recheckMs);
  sweep.unref();

  const graphqlWs = useServer<Record<string, unknown>, Extra>(
    {
      connectionInitWaitTimeout: 5_000,
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        // a token in the connection parameters wins over the cookie, like X-Api-Key over HTTP
        const fromParams = credentialsFromConnectionParams(ctx.connectionParams);
        const creds = fromParams.apiToken ? fromParams : { sessionToken: credentialsFromHeaders(request.headers).sessionToken };
        const out = await authenticate(prisma, creds, now());
        if (!out.ok || !out.auth.user) return false; // 4403 Forbidden
        connections.set(socket, { creds, auth: out.auth, request });
        socket.once('close', () => connections.delete(socket));
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const c = connections.get(ctx.extra.socket);
        if (!c) return [createGraphQLError('not signed in', { extensions: { code: 'UNAUTHENTICATED' } })];
        if (Object.keys(ctx.subscriptions).length > MAX_OPERATIONS_PER_SOCKET) {
          return [createGraphQLError(`at most ${MAX_OPERATIONS_PER_SOCKET} operations per connection`, { extensions: { code: 'QUERY_TOO_COMPLEX' } })];
        }
        const out = await authenticate(prisma, c.creds, now());
        if (!out.ok || !out.auth.user) {
          ctx.extra.socket.close(4401, 'Unauthorized');
          return [createGraphQLError('the session or token is no longer valid', { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        c.auth = out.auth;
        const info = requestInfo(c.request, config.publicUrl, config.trustProxy, 'ws');
        const enveloped = yoga.getEnveloped({ auth: c.auth, requestInfo: info, setCookie: () => {}, req: c.request, socket: ctx.extra.socket, params: payload } as never);
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (err) {
          if (isGraphQLError(err)) return [err];
          throw err;
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length) return errors;
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        return args;
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
      onError: (_ctx, _id, _payload, errors) => {
        log.debug({ errors: errors.map((e) => e.message) }, 'websocket operation refused');
      },
    },
    wss,
  );

  return {
    close: async () => {
      server.off('upgrade', onUpgrade);
      deps.events.off('credentialsRevoked', onRevoked);
      clearInterval(sweep);
      for (const ws of wss.clients) ws.close(1001, 'Going away');
      await graphqlWs.dispose();
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
