// One builder: plugins, context, scalars and auth scopes. Entity files under
// types/ register their own fields on it.
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { GraphQLContext } from './context.js';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { public: boolean; user: boolean; admin: boolean };
  Scalars: { DateTime: { Input: Date; Output: Date } };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin],
  scopeAuth: {
    authScopes: (ctx) => ({
      public: true,
      user: ctx.user !== null,
      admin: ctx.user !== null && !ctx.user.readOnly,
    }),
  },
});

builder.scalarType('DateTime', {
  serialize: (d) => d.toISOString(),
  parseValue: (v) => {
    const d = new Date(String(v));
    if (Number.isNaN(d.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
    return d;
  },
});

builder.queryType({});
