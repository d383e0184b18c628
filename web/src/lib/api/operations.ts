// Every GraphQL document the console sends, typed with its result and
// variables. Kept free of imports other than types so the test suite can
// validate each one against the server's schema (test/console/operations.test.ts).
import type {
  ApiToken, Feed, FeedChannel, Key, PatchProduct, Patchset, PatchSourceSettings, ServerConnection, ServerFilter,
  ServerSortField, SortDirection, Stats, SyncProgress, SyncStatus, User,
} from './types.js';

/** A GraphQL document carrying its result type R and variables type V. */
export type Document<R, V = Record<string, never>> = string & { readonly __result?: R; readonly __variables?: V };

function doc<R, V = Record<string, never>>(text: string): Document<R, V> {
  return text as Document<R, V>;
}

const USER = 'id username readOnly source description createdAt lastLoginAt';
const FEED = 'id name isDefault autoUpdate deployAfterHours channel keyCount deployedCount createdAt';
const KEY = 'id key description serverLimit serverCount createdAt feed { name }';
const STATS = 'totalServers checkedInLast48h serversWithoutKey keyInventory { key serverCount } updatedAt';
const SERVER = 'id ip hostname effectiveKernel registeredAt lastCheckinAt patchLevel latestLevel outOfDate active tags { name value } key { key } feed { name }';
const PATCHSET = 'id name product releasedAt appearedAt size blocked origin channels kernelCount cves removedUpstreamAt feeds { feed { name } deployed deployedAt deployedBy }';
const SOURCE_SETTINGS = 'url user passwordSet enabled products proxy proxyPasswordSet tlsVerify schedule fromEnv configured problems';
const PROGRESS = 'name product size received state error';
const SYNC_STATUS = `running runningSince runningOn lastSyncAt lastResult lastError lastSuccessAt bytesDownloaded phase pending
  progress { ${PROGRESS} }
  lastRun { startedAt finishedAt durationMs result error bytesDownloaded upstreamPatchsets imported failed { name code error } removedUpstream blockedButDeployed warnings }`;
const TOKEN = 'id name prefix createdAt expiresAt lastUsedAt revokedAt';

// ---- session
export const ME = doc<{ me: User | null }>(`query Me { me { ${USER} } }`);
export const LOGIN = doc<{ login: { user: User; expiresAt: string } }, { username: string; password: string }>(
  `mutation Login($username: String!, $password: String!) { login(username: $username, password: $password) { user { ${USER} } expiresAt } }`,
);
export const LOGOUT = doc<{ logout: boolean }>(`mutation Logout { logout }`);
export const CHANGE_MY_PASSWORD = doc<{ changeMyPassword: User }, { currentPassword: string; newPassword: string }>(
  `mutation ChangeMyPassword($currentPassword: String!, $newPassword: String!) { changeMyPassword(currentPassword: $currentPassword, newPassword: $newPassword) { ${USER} } }`,
);

// ---- start page
export const STATS_QUERY = doc<{ stats: Stats }>(`query Stats { stats { ${STATS} } }`);
export const STATS_UPDATED = doc<{ statsUpdated: Stats }>(`subscription StatsUpdated { statsUpdated { ${STATS} } }`);

// ---- keys
export const KEYS = doc<{ keys: Key[] }>(`query Keys { keys { ${KEY} } }`);
export const KEY_QUERY = doc<{ key: Key | null }, { key: string }>(`query Key($key: String!) { key(key: $key) { ${KEY} } }`);
export interface KeyInput {
  key?: string | null;
  description?: string | null;
  serverLimit?: number | null;
  feed?: string | null;
}
export const CREATE_KEY = doc<{ createKey: Key }, { input: KeyInput }>(`mutation CreateKey($input: CreateKeyInput!) { createKey(input: $input) { ${KEY} } }`);
export const UPDATE_KEY = doc<{ updateKey: Key }, { key: string; input: KeyInput }>(
  `mutation UpdateKey($key: String!, $input: UpdateKeyInput!) { updateKey(key: $key, input: $input) { ${KEY} } }`,
);
export const DELETE_KEY = doc<{ deleteKey: { key: string; serversDeleted: number } }, { key: string }>(
  `mutation DeleteKey($key: String!) { deleteKey(key: $key) { key serversDeleted } }`,
);

// ---- servers
export interface ServersVars {
  filter?: ServerFilter | null;
  sort?: { field: ServerSortField; direction: SortDirection } | null;
  first?: number;
  after?: string | null;
}
export const SERVERS = doc<{ servers: ServerConnection }, ServersVars>(
  `query Servers($filter: ServerFilter, $sort: ServerSort, $first: Int, $after: String) {
    servers(filter: $filter, sort: $sort, first: $first, after: $after) { totalCount nodes { ${SERVER} } pageInfo { hasNextPage endCursor } }
  }`,
);
export const DELETE_SERVERS = doc<{ deleteServers: { deleted: number } }, { ids: number[] }>(
  `mutation DeleteServers($ids: [Int!]!) { deleteServers(ids: $ids) { deleted } }`,
);

// ---- feeds
export const FEEDS = doc<{ feeds: Feed[] }>(`query Feeds { feeds { ${FEED} } }`);
export const FEED_QUERY = doc<{ feed: Feed | null }, { name: string }>(`query Feed($name: String!) { feed(name: $name) { ${FEED} } }`);
export interface FeedInput {
  name?: string;
  autoUpdate?: boolean;
  deployAfterHours?: number;
  channel?: FeedChannel;
}
export const CREATE_FEED = doc<{ createFeed: Feed }, { input: FeedInput }>(`mutation CreateFeed($input: FeedInput!) { createFeed(input: $input) { ${FEED} } }`);
export const UPDATE_FEED = doc<{ updateFeed: Feed }, { name: string; input: FeedInput }>(
  `mutation UpdateFeed($name: String!, $input: FeedInput!) { updateFeed(name: $name, input: $input) { ${FEED} } }`,
);
export const DELETE_FEED = doc<{ deleteFeed: { name: string; movedKeys: number } }, { name: string }>(
  `mutation DeleteFeed($name: String!) { deleteFeed(name: $name) { name movedKeys } }`,
);

// ---- patchsets and the patch source
export const PATCHSETS = doc<{ patchsets: Patchset[]; feeds: Feed[] }>(`query Patchsets { patchsets(first: 1000) { ${PATCHSET} } feeds { ${FEED} } }`);
export const CHANGELOG = doc<{ patchset: { name: string; changelog: string; cves: string[] } | null }, { name: string }>(
  `query Changelog($name: String!) { patchset(name: $name) { name changelog cves } }`,
);
export const DEPLOY_UP_TO = doc<{ deployUpTo: { feed: string; changed: string[] } }, { feed: string; patchset: string }>(
  `mutation DeployUpTo($feed: String!, $patchset: String!) { deployUpTo(feed: $feed, patchset: $patchset) { feed changed } }`,
);
export const ROLL_BACK_FROM = doc<{ rollBackFrom: { feed: string; changed: string[] } }, { feed: string; patchset: string }>(
  `mutation RollBackFrom($feed: String!, $patchset: String!) { rollBackFrom(feed: $feed, patchset: $patchset) { feed changed } }`,
);
export const DEPLOYMENTS_CHANGED = doc<{ deploymentsChanged: { changes: { action: string; patchsets: string[]; by: string; at: string; feed: { name: string } | null }[] } }>(
  `subscription DeploymentsChanged { deploymentsChanged { changes { action patchsets by at feed { name } } } }`,
);
export const PATCH_SOURCE = doc<{ patchSource: { settings: PatchSourceSettings; status: SyncStatus } }>(
  `query PatchSource { patchSource { settings { ${SOURCE_SETTINGS} } status { ${SYNC_STATUS} } } }`,
);
export interface PatchSourceSettingsInput {
  url?: string | null;
  user?: string | null;
  password?: string | null;
  enabled?: boolean;
  products?: PatchProduct[];
  proxy?: string | null;
}
export const UPDATE_PATCH_SOURCE = doc<{ updatePatchSourceSettings: PatchSourceSettings }, { input: PatchSourceSettingsInput }>(
  `mutation UpdatePatchSource($input: PatchSourceSettingsInput!) { updatePatchSourceSettings(input: $input) { ${SOURCE_SETTINGS} } }`,
);
export const SYNC_PATCH_SOURCE = doc<{ syncPatchSource: SyncStatus }>(`mutation SyncPatchSource { syncPatchSource { ${SYNC_STATUS} } }`);
export const SYNC_PROGRESS = doc<{ syncProgress: SyncProgress }>(
  `subscription SyncProgress { syncProgress { running startedAt phase bytesDownloaded patchsets { ${PROGRESS} } lastResult lastError finishedAt } }`,
);

// ---- users
export const USERS = doc<{ users: User[] }>(`query Users { users { ${USER} } }`);
export const ADD_USER = doc<{ addUser: User }, { input: { username: string; password: string; readOnly?: boolean; description?: string } }>(
  `mutation AddUser($input: AddUserInput!) { addUser(input: $input) { ${USER} } }`,
);
export const DELETE_USER = doc<{ deleteUser: User }, { username: string }>(`mutation DeleteUser($username: String!) { deleteUser(username: $username) { ${USER} } }`);
export const SET_USER_PASSWORD = doc<{ setUserPassword: User }, { username: string; password: string }>(
  `mutation SetUserPassword($username: String!, $password: String!) { setUserPassword(username: $username, password: $password) { ${USER} } }`,
);
export const SET_USER_READ_ONLY = doc<{ setUserReadOnly: User }, { username: string; readOnly: boolean }>(
  `mutation SetUserReadOnly($username: String!, $readOnly: Boolean!) { setUserReadOnly(username: $username, readOnly: $readOnly) { ${USER} } }`,
);

// ---- API tokens
export const API_TOKENS = doc<{ apiTokens: ApiToken[] }>(`query ApiTokens { apiTokens { ${TOKEN} } }`);
export const CREATE_API_TOKEN = doc<{ createApiToken: { token: string; apiToken: ApiToken } }, { input: { name: string; expiresAt?: string | null } }>(
  `mutation CreateApiToken($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { ${TOKEN} } } }`,
);
export const REVOKE_API_TOKEN = doc<{ revokeApiToken: ApiToken }, { id: number }>(`mutation RevokeApiToken($id: Int!) { revokeApiToken(id: $id) { ${TOKEN} } }`);
