// Console users: who am I, the user list, and the admin's user management
// (the same commands as `kc.eportal -a/-d/-c/-r`).
import { DomainError } from '../../commands/errors.js';
import { addUser, changePassword, deleteUser, getUser, listUsers, setReadOnly, type UserInfo } from '../../commands/users.js';
import { verifyPassword } from '../../auth/password.js';
import { builder } from '../builder.js';

/** The User type (never the password hash). */
export const User = builder.objectRef<UserInfo>('User').implement({
  description: 'A console user: local (password here) or LDAP (password in the directory).',
  fields: (t) => ({
    id: t.exposeInt('id'),
    username: t.exposeString('username'),
    readOnly: t.exposeBoolean('readOnly', { description: 'can see everything, change nothing' }),
    source: t.exposeString('source', { description: '"local" or "ldap"' }),
    description: t.exposeString('description'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastLoginAt: t.expose('lastLoginAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: User,
    nullable: true,
    description: 'The signed-in user, or null.',
    authScopes: { public: true },
    resolve: async (_root, _args, ctx) => (ctx.user ? getUser(ctx.prisma, ctx.user.username).catch(() => null) : null),
  }),
  users: t.field({
    type: [User],
    description: 'Every user, oldest first.',
    authScopes: { user: true },
    resolve: (_root, _args, ctx) => listUsers(ctx.prisma),
  }),
}));

const AddUserInput = builder.inputType('AddUserInput', {
  fields: (t) => ({
    username: t.string({ required: true }),
    password: t.string({ required: true }),
    readOnly: t.boolean({ required: false }),
    description: t.string({ required: false }),
  }),
});

builder.mutationFields((t) => ({
  addUser: t.field({
    type: User,
    description: 'Adds a local user (admin only).',
    authScopes: { admin: true },
    args: { input: t.arg({ type: AddUserInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      addUser(ctx.prisma, input.username, input.password, { readOnly: input.readOnly ?? undefined, description: input.description ?? undefined }),
  }),
  deleteUser: t.field({
    type: User,
    description: 'Deletes a user with their sessions and API tokens (admin only).',
    authScopes: { admin: true },
    args: { username: t.arg.string({ required: true }) },
    resolve: async (_root, { username }, ctx) => {
      const user = await deleteUser(ctx.prisma, username);
      ctx.api.events.emit('credentialsRevoked', { userId: user.id });
      return user;
    },
  }),
  setUserPassword: t.field({
    type: User,
    description: "Sets a local user's password and signs them out everywhere (admin only).",
    authScopes: { admin: true },
    args: { username: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: async (_root, { username, password }, ctx) => {
      const self = ctx.user?.username === username;
      const user = await changePassword(ctx.prisma, username, password, self ? { keepSessionId: ctx.auth.sessionId } : {});
      ctx.api.events.emit('credentialsRevoked', { userId: user.id });
      return user;
    },
  }),
  setUserReadOnly: t.field({
    type: User,
    description: 'Makes a user read-only or lifts it (e.g. for an LDAP user) (admin only).',
    authScopes: { admin: true },
    args: { username: t.arg.string({ required: true }), readOnly: t.arg.boolean({ required: true }) },
    resolve: (_root, { username, readOnly }, ctx) => setReadOnly(ctx.prisma, username, readOnly),
  }),
  changeMyPassword: t.field({
    type: User,
    description: 'Changes your own local password; your other sessions are signed out. Allowed to read-only users.',
    authScopes: { user: true },
    args: { currentPassword: t.arg.string({ required: true }), newPassword: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const me = ctx.user!;
      const { limiter, now } = ctx.api;
      if (limiter.retryAfter(me.username, ctx.request.ip, now()) > 0) throw new DomainError('RATE_LIMITED', 'too many failed attempts: try again later');
      const row = await ctx.prisma.user.findUniqueOrThrow({ where: { id: me.id }, select: { passwordHash: true, source: true } });
      if (row.source === 'ldap') throw new DomainError('LDAP_USER', 'your password lives in the LDAP directory: change it there');
      if (!(await verifyPassword(row.passwordHash, args.currentPassword))) {
        limiter.failed(me.username, ctx.request.ip, now());
        throw new DomainError('INVALID_CREDENTIALS', 'the current password is wrong');
      }
      const user = await changePassword(ctx.prisma, me.username, args.newPassword, { keepSessionId: ctx.auth.sessionId });
      ctx.api.events.emit('credentialsRevoked', { userId: user.id });
      return user;
    },
  }),
}));
