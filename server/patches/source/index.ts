// The patch source's public surface, for the GraphQL layer, the console and
// the CLI. Nothing exported here returns a stored secret.

/** Settings: public view (passwordSet only), update, input schema, products. */
export { getSourceSettings, getPublicSettings, updateSourceSettings, sourceSettingsInput, PRODUCTS } from './settings.js';
/** Settings types. */
export type { SourceContext, PublicSourceSettings, SourceSettingsInput, Product } from './settings.js';
/** Sync status: last run, live progress, pending and refused patchsets. */
export { getSyncStatus } from './status.js';
/** Status types. */
export type { SyncStatus, SyncReport, SyncResult, PendingPatchset, RejectedArchive } from './status.js';
/** One sync run (lock, index, downloads, auto-update) and its defaults. */
export { runSync, DEFAULT_TUNING } from './sync.js';
/** Sync types. */
export type { SyncDeps, SyncOptions, SyncTuning } from './sync.js';
/** Live progress of a run (events, CLI). */
export { SyncTracker } from './progress.js';
/** Progress types. */
export type { PatchSyncEvent, PatchsetProgress, LiveProgress } from './progress.js';
/** The channel rule: default = stable ⊂ test ⊂ unstable. */
export { channelAccepts } from './auto-update.js';
/** Deploy the newest eligible patchsets to a feed (`--get-latest`). */
export { deployLatest } from './get-latest.js';
/** Errors of the sync (DomainErrors with `retryable`). */
export { SourceError } from './errors.js';
