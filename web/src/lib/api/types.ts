// The shapes the console reads from the GraphQL API (schema.graphql at the
// repository root is the source of truth; test/console/operations.test.ts
// validates every document in operations.ts against it). DateTime arrives as
// an ISO-8601 string.

export type DateTime = string;

export interface User {
  id: number;
  username: string;
  readOnly: boolean;
  /** "local" or "ldap" */
  source: string;
  description: string;
  createdAt: DateTime;
  lastLoginAt: DateTime | null;
}

export interface FeedRef {
  name: string;
}

export type FeedChannel = 'default' | 'stable' | 'test' | 'unstable';

export interface Feed {
  id: number;
  name: string;
  isDefault: boolean;
  autoUpdate: boolean;
  deployAfterHours: number;
  channel: FeedChannel;
  keyCount: number;
  deployedCount: number;
  createdAt: DateTime;
}

export interface Key {
  id: number;
  key: string;
  description: string;
  serverLimit: number | null;
  serverCount: number;
  createdAt: DateTime;
  feed: FeedRef;
}

export interface Stats {
  totalServers: number;
  checkedInLast48h: number;
  serversWithoutKey: number;
  keyInventory: { key: string; serverCount: number }[];
  updatedAt: DateTime;
}

export interface ServerTag {
  name: string;
  value: string | null;
}

export interface Server {
  id: number;
  ip: string;
  hostname: string;
  effectiveKernel: string | null;
  registeredAt: DateTime;
  lastCheckinAt: DateTime | null;
  patchLevel: number | null;
  latestLevel: number | null;
  outOfDate: boolean;
  active: boolean;
  tags: ServerTag[];
  key: { key: string } | null;
  feed: FeedRef;
}

export interface ServerFilter {
  search?: string | null;
  hostname?: string | null;
  ip?: string | null;
  key?: string | null;
  withoutKey?: boolean | null;
  feed?: string | null;
  tag?: string | null;
  checkedInWithinHours?: number | null;
  notCheckedInForHours?: number | null;
  outOfDate?: boolean | null;
  kernel?: string | null;
}

export type ServerSortField = 'HOSTNAME' | 'ID' | 'IP' | 'KERNEL' | 'LAST_CHECKIN_AT' | 'PATCH_LEVEL' | 'REGISTERED_AT';
export type SortDirection = 'ASC' | 'DESC';

export interface ServerConnection {
  totalCount: number;
  nodes: Server[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export interface PatchsetFeedStatus {
  feed: FeedRef;
  deployed: boolean;
  deployedAt: DateTime | null;
  deployedBy: string | null;
}

export interface Patchset {
  id: number;
  name: string;
  product: string;
  releasedAt: DateTime;
  appearedAt: DateTime;
  size: number;
  blocked: boolean;
  origin: string;
  channels: string[];
  kernelCount: number;
  cves: string[];
  removedUpstreamAt: DateTime | null;
  feeds: PatchsetFeedStatus[];
}

export type PatchProduct = 'kernel' | 'libcare';

export interface PatchSourceSettings {
  url: string | null;
  user: string | null;
  passwordSet: boolean;
  enabled: boolean;
  products: PatchProduct[];
  proxy: string | null;
  proxyPasswordSet: boolean;
  tlsVerify: boolean;
  schedule: string;
  fromEnv: string[];
  configured: boolean;
  problems: string[];
}

export interface PatchsetProgress {
  name: string;
  product: string;
  size: number;
  received: number;
  state: string;
  error: string | null;
}

export interface SyncRun {
  startedAt: DateTime;
  finishedAt: DateTime;
  durationMs: number;
  result: string;
  error: string | null;
  bytesDownloaded: number;
  upstreamPatchsets: number | null;
  imported: string[];
  failed: { name: string; code: string; error: string }[];
  removedUpstream: string[];
  blockedButDeployed: string[];
  warnings: string[];
}

export interface SyncStatus {
  running: boolean;
  runningSince: DateTime | null;
  runningOn: string | null;
  lastSyncAt: DateTime | null;
  lastResult: string | null;
  lastError: string | null;
  lastSuccessAt: DateTime | null;
  bytesDownloaded: number;
  phase: string | null;
  progress: PatchsetProgress[];
  pending: string[];
  lastRun: SyncRun | null;
}

export interface SyncProgress {
  running: boolean;
  startedAt: DateTime | null;
  phase: string | null;
  bytesDownloaded: number;
  patchsets: PatchsetProgress[];
  lastResult: string | null;
  lastError: string | null;
  finishedAt: DateTime | null;
}

export interface ApiToken {
  id: number;
  name: string;
  prefix: string;
  createdAt: DateTime;
  expiresAt: DateTime | null;
  lastUsedAt: DateTime | null;
  revokedAt: DateTime | null;
}
