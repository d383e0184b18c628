// Read-only view of the portal's own configuration that the console shows.
import { builder } from '../builder.js';

const PortalSettings = builder.objectRef<{ inactiveHours: number; sessionHours: number; ldapEnabled: boolean; ldapUrl: string | null; checkinFlushMs: number }>('PortalSettings').implement({
  description: 'Settings from the configuration file / EPORTAL_* environment (change them there).',
  fields: (t) => ({
    inactiveHours: t.exposeInt('inactiveHours', { description: 'a server with no check-in for longer is inactive' }),
    sessionHours: t.exposeInt('sessionHours', { description: 'console sessions last this long' }),
    ldapEnabled: t.exposeBoolean('ldapEnabled'),
    ldapUrl: t.exposeString('ldapUrl', { nullable: true }),
    checkinFlushMs: t.exposeInt('checkinFlushMs'),
  }),
});

builder.queryField('portalSettings', (t) =>
  t.field({
    type: PortalSettings,
    authScopes: { user: true },
    resolve: (_root, _args, ctx) => {
      const c = ctx.api.config;
      return { inactiveHours: c.inactiveHours, sessionHours: c.sessionHours, ldapEnabled: !!c.ldap, ldapUrl: c.ldap?.url ?? null, checkinFlushMs: c.checkinFlushMs };
    },
  }),
);
