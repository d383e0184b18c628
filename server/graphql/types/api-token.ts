// API tokens for automation. Any signed-in user manages their own (a token
// acts with its owner's role, so a read-only user's token is read-only);
// admins may revoke anyone's.
import { createApiToken, listApiTokens, revokeApiToken, type ApiTokenInfo } from '../../commands/tokens.js';
import { builder } from '../builder.js';

const ApiToken = builder.objectRef<ApiTokenInfo>('ApiToken').implement({
  description: 'An API token as lists show it: only its first characters, never the secret.',
  fields: (t) => ({
    id: t.exposeInt('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'the first characters of the token' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedApiToken = builder.objectRef<{ token: string; info: ApiTokenInfo }>('CreatedApiToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'the secret: send it as X-Api-Key or Authorization: Bearer. Shown only this once.' }),
    apiToken: t.field({ type: ApiToken, resolve: (p) => p.info }),
  }),
});

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    expiresAt: t.field({ type: 'DateTime', required: false, description: 'omit for a token that does not expire' }),
  }),
});

builder.queryField('apiTokens', (t) =>
  t.field({
    type: [ApiToken],
    description: 'Your API tokens, newest first.',
    authScopes: { user: true },
    resolve: (_root, _args, ctx) => listApiTokens(ctx.prisma, ctx.user!.id),
  }),
);

builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreatedApiToken,
    description: 'Creates an API token for yourself; the secret is in the answer only. Allowed to read-only users (the token is read-only too).',
    authScopes: { user: true },
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) => createApiToken(ctx.prisma, ctx.user!.id, { name: input.name, expiresAt: input.expiresAt ?? null }, ctx.api.now()),
  }),
  revokeApiToken: t.field({
    type: ApiToken,
    description: 'Revokes one of your tokens (admins: anyone\'s). TOKEN_NOT_FOUND.',
    authScopes: { user: true },
    args: { id: t.arg.int({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const info = await revokeApiToken(ctx.prisma, id, { userId: ctx.user!.id, anyUser: !ctx.user!.readOnly, now: ctx.api.now() });
      ctx.api.events.emit('credentialsRevoked', { tokenIds: [id] });
      return info;
    },
  }),
}));
