// Patch Source settings (URL, login, password — never shown back — enabled,
// products, proxy) and the sync's status and live progress. The settings and
// status functions belong to patches/source; this file only exposes them.
import { getPublicSettings, getSyncStatus, updateSourceSettings, PRODUCTS, type PublicSourceSettings, type SyncReport, type SyncStatus } from '../../patches/source/index.js';
import type { PatchsetProgress } from '../../patches/source/progress.js';
import { DomainError } from '../../commands/errors.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import type { SyncProgressState } from '../live/patches.js';

const date = (s: string | null | undefined): Date | null => (s ? new Date(s) : null);

function sourceContext(ctx: GraphQLContext) {
  return { prisma: ctx.prisma, dataDir: ctx.api.config.dataDir, config: ctx.api.config };
}

const Product = builder.enumType('PatchProduct', { values: PRODUCTS });

const PatchSourceSettings = builder.objectRef<PublicSourceSettings>('PatchSourceSettings').implement({
  description: 'Where patchsets come from. The password is never returned, only whether one is set.',
  fields: (t) => ({
    url: t.exposeString('url', { nullable: true }),
    user: t.exposeString('user', { nullable: true }),
    passwordSet: t.exposeBoolean('passwordSet'),
    enabled: t.exposeBoolean('enabled'),
    products: t.field({ type: [Product], description: 'empty: every product', resolve: (s) => s.products }),
    proxy: t.exposeString('proxy', { nullable: true, description: 'with its password shown as ***' }),
    proxyPasswordSet: t.exposeBoolean('proxyPasswordSet'),
    tlsVerify: t.exposeBoolean('tlsVerify'),
    schedule: t.exposeString('schedule', { description: 'cron expression of the sync' }),
    fromEnv: t.exposeStringList('fromEnv', { description: 'fields set by the environment (read-only here)' }),
    configured: t.exposeBoolean('configured'),
    problems: t.exposeStringList('problems'),
  }),
});

const PatchsetProgressRef = builder.objectRef<PatchsetProgress>('PatchsetProgress').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    product: t.exposeString('product'),
    size: t.exposeInt('size'),
    received: t.exposeInt('received'),
    state: t.exposeString('state', { description: 'queued, downloading, importing, imported or failed' }),
    error: t.exposeString('error', { nullable: true }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
  }),
});

const SyncFailure = builder.objectRef<SyncReport['failed'][number]>('SyncFailure').implement({
  fields: (t) => ({ name: t.exposeString('name'), code: t.exposeString('code'), error: t.exposeString('error') }),
});

const SyncRun = builder.objectRef<SyncReport>('SyncRun').implement({
  description: 'What one sync run did.',
  fields: (t) => ({
    startedAt: t.field({ type: 'DateTime', resolve: (r) => new Date(r.startedAt) }),
    finishedAt: t.field({ type: 'DateTime', resolve: (r) => new Date(r.finishedAt) }),
    durationMs: t.exposeInt('durationMs'),
    result: t.exposeString('result', { description: 'ok, partial, failed or skipped' }),
    error: t.exposeString('error', { nullable: true }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    bytesDownloaded: t.exposeFloat('bytesDownloaded'),
    upstreamPatchsets: t.exposeInt('upstreamPatchsets', { nullable: true }),
    imported: t.exposeStringList('imported'),
    failed: t.field({ type: [SyncFailure], resolve: (r) => r.failed }),
    removedUpstream: t.exposeStringList('removedUpstream'),
    blockedButDeployed: t.stringList({ description: 'blocked upstream but still deployed: roll them back', resolve: (r) => r.blockedButDeployed.map((b) => b.name) }),
    warnings: t.exposeStringList('warnings'),
  }),
});

const SyncStatusRef = builder.objectRef<SyncStatus>('SyncStatus').implement({
  fields: (t) => ({
    running: t.exposeBoolean('running'),
    runningSince: t.field({ type: 'DateTime', nullable: true, resolve: (s) => date(s.runningSince) }),
    runningOn: t.exposeString('runningOn', { nullable: true, description: 'host:pid of the process syncing' }),
    lastSyncAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => date(s.lastSyncAt) }),
    lastResult: t.exposeString('lastResult', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    lastSuccessAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => date(s.lastSuccessAt) }),
    bytesDownloaded: t.exposeFloat('bytesDownloaded'),
    progress: t.field({ type: [PatchsetProgressRef], description: 'patchsets of the run in progress', resolve: (s) => s.progress?.patchsets ?? [] }),
    phase: t.string({ nullable: true, resolve: (s) => s.progress?.phase ?? null }),
    lastRun: t.field({ type: SyncRun, nullable: true, resolve: (s) => s.lastRun }),
    pending: t.stringList({ description: 'upstream patchsets not in the store yet', resolve: (s) => s.pending.map((p) => p.name) }),
  }),
});

const SyncProgressRef = builder.objectRef<SyncProgressState>('SyncProgress').implement({
  description: "The sync as this portal process sees it (runs of `kc.eportal` in another process show in patchSource.status).",
  fields: (t) => ({
    running: t.exposeBoolean('running'),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => date(s.startedAt) }),
    phase: t.exposeString('phase', { nullable: true }),
    bytesDownloaded: t.exposeFloat('bytesDownloaded'),
    patchsets: t.field({ type: [PatchsetProgressRef], resolve: (s) => s.patchsets }),
    lastResult: t.exposeString('lastResult', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => date(s.finishedAt) }),
  }),
});

const PatchSource = builder.objectRef<Record<string, never>>('PatchSource').implement({
  fields: (t) => ({
    settings: t.field({ type: PatchSourceSettings, resolve: (_p, _a, ctx) => getPublicSettings(sourceContext(ctx)) }),
    status: t.field({ type: SyncStatusRef, resolve: (_p, _a, ctx) => ctx.api.sync()?.status() ?? getSyncStatus({ prisma: ctx.prisma }) }),
  }),
});

const PatchSourceSettingsInput = builder.inputType('PatchSourceSettingsInput', {
  description: 'An omitted field keeps its value; null or "" clears it.',
  fields: (t) => ({
    url: t.string({ required: false }),
    user: t.string({ required: false }),
    password: t.string({ required: false, description: 'stored sealed, never shown back' }),
    enabled: t.boolean({ required: false }),
    products: t.field({ type: [Product], required: false }),
    proxy: t.string({ required: false, description: 'http://user:pass@host:port; *** keeps the stored password' }),
  }),
});

builder.queryField('patchSource', (t) =>
  t.field({ type: PatchSource, authScopes: { user: true }, resolve: () => ({}) }),
);

builder.mutationField('updatePatchSourceSettings', (t) =>
  t.field({
    type: PatchSourceSettings,
    description: 'Changes the patch source settings (admin only). INVALID_INPUT, SETTING_FROM_ENVIRONMENT.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: PatchSourceSettingsInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      // GraphQL gives absent fields as undefined and explicit nulls as null: both pass through as the command expects
      const patch = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
      return updateSourceSettings(sourceContext(ctx), patch);
    },
  }),
);

builder.mutationField('syncPatchSource', (t) =>
  t.field({
    type: SyncStatusRef,
    description: 'Starts a patch-source sync now (or joins the running one) and answers its status at once; follow it with syncProgress (admin only). SYNC_UNAVAILABLE.',
    authScopes: { admin: true },
    resolve: async (_root, _args, ctx) => {
      const sync = ctx.api.sync();
      if (!sync) throw new DomainError('SYNC_UNAVAILABLE', 'the sync job is not running in this portal process');
      // the run reports its own failures (status, syncProgress); nothing to add here
      sync.runNow().catch((err: unknown) => ctx.api.log.error({ err }, 'sync started from the API failed'));
      return sync.status();
    },
  }),
);

builder.subscriptionField('syncProgress', (t) =>
  t.field({
    type: SyncProgressRef,
    description: 'The patch-source sync: its state now, then on every change (byte counts at most 4 times a second).',
    authScopes: { user: true },
    subscribe: (_root, _args, ctx) => ctx.api.live.patches.subscribeSync(),
    resolve: (s) => s,
  }),
);
