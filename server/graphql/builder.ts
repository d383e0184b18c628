// One builder: plugins, context, scalars and auth scopes. Entity files under
// types/ register their own types, queries, mutations and subscriptions on it.
// Scopes: `public` (anyone), `user` (signed in: read-only users included),
// `admin` (signed in and not read-only). Every field of Mutation and
// Subscription declares one; test/graphql/authz.test.ts walks the schema.
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';
import type { GraphQLContext } from './context.js';
import { codedError } from './errors.js';

/** The schema builder every types/ file registers on. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: { public: boolean; user: boolean; admin: boolean };
  Scalars: { DateTime: { Input: Date; Output: Date } };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, PrismaPlugin],
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    onUnusedQuery: null,
  },
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      public: true,
      user: ctx.user !== null,
      admin: ctx.user !== null && !ctx.user.readOnly,
    }),
    unauthorizedError: (_parent, ctx, info) => {
      if (!ctx.user) return codedError('UNAUTHENTICATED', 'sign in first (session cookie or API token)');
      if (ctx.user.readOnly && info.operation.operation === 'mutation') return codedError('READ_ONLY', 'read-only users cannot make changes');
      return codedError('FORBIDDEN', 'not allowed for this user');
    },
  },
});

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO-8601 string (UTC).',
  serialize: (d) => d.toISOString(),
  parseValue: (v) => {
    if (typeof v !== 'string' || v.length > 40) throw new TypeError('DateTime must be an ISO-8601 string');
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
    return d;
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
