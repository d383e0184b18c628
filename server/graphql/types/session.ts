// Console login and logout. The session token travels only in an HttpOnly,
// SameSite=Strict cookie; the database keeps its hash.
import { DomainError } from '../../commands/errors.js';
import { getUser } from '../../commands/users.js';
import { clearedSessionCookie, sessionCookie } from '../../auth/cookies.js';
import { login } from '../../auth/login.js';
import { createSession, revokeSession } from '../../auth/sessions.js';
import { builder } from '../builder.js';
import { User } from './user.js';

const LoginPayload = builder.objectRef<{ user: Awaited<ReturnType<typeof getUser>>; expiresAt: Date }>('LoginPayload').implement({
  fields: (t) => ({
    user: t.field({ type: User, resolve: (p) => p.user }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'when the session ends (EPORTAL_SESSION_HOURS)' }),
  }),
});

builder.mutationFields((t) => ({
  login: t.field({
    type: LoginPayload,
    description: 'Signs in (local users first, then LDAP) and sets the session cookie. INVALID_CREDENTIALS, RATE_LIMITED, LDAP_UNAVAILABLE.',
    authScopes: { public: true },
    args: { username: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: async (_root, { username, password }, ctx) => {
      if (ctx.request.transport !== 'http') throw new DomainError('INVALID_INPUT', 'sign in over HTTP: a WebSocket cannot carry the session cookie');
      const { prisma, api } = ctx;
      const user = await login({ prisma, ldap: api.config.ldap, limiter: api.limiter, log: api.log, now: api.now }, username, password, ctx.request.ip);
      // a new session on every login; the one this browser had (if any) ends
      if (ctx.auth.via === 'session' && ctx.auth.sessionId !== undefined) await revokeSession(prisma, ctx.auth.sessionId, api.now());
      const hours = api.config.sessionHours;
      const session = await createSession(prisma, user.id, { hours, now: api.now(), ip: ctx.request.ip, userAgent: ctx.request.userAgent });
      ctx.setCookie(sessionCookie(session.token, hours * 3600, ctx.request.secure));
      return { user: await getUser(prisma, user.username), expiresAt: session.expiresAt };
    },
  }),
  logout: t.boolean({
    description: 'Ends the current cookie session (true) ; false when the request had none.',
    authScopes: { public: true },
    resolve: async (_root, _args, ctx) => {
      ctx.setCookie(clearedSessionCookie(ctx.request.secure));
      if (ctx.auth.via !== 'session' || ctx.auth.sessionId === undefined) return false;
      await revokeSession(ctx.prisma, ctx.auth.sessionId, ctx.api.now());
      ctx.api.events.emit('credentialsRevoked', { sessionIds: [ctx.auth.sessionId] });
      return true;
    },
  }),
}));
