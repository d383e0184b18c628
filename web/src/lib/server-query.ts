// The server list's state lives in the URL (filters, sort, page), so a
// filtered list can be bookmarked, shared and reloaded.
import type { ServersVars } from './api/operations.js';
import type { ServerFilter, ServerSortField, SortDirection } from './api/types.js';

/** Check-in age choices: value in the URL → label. */
export const CHECKIN_CHOICES: [string, string][] = [
  ['', 'any time'],
  ['within-1', 'within the last hour'],
  ['within-24', 'within 24 hours'],
  ['within-48', 'within 48 hours'],
  ['stale-48', 'not for 48 hours or more'],
  ['stale-168', 'not for 7 days or more'],
  ['stale-720', 'not for 30 days or more'],
];

export const PAGE_SIZES = [25, 50, 100, 200, 500];

const SORT_FIELDS: ServerSortField[] = ['HOSTNAME', 'ID', 'IP', 'KERNEL', 'LAST_CHECKIN_AT', 'PATCH_LEVEL', 'REGISTERED_AT'];

/** The form's fields as URL parameters use them. */
export interface ServerQuery {
  search: string;
  tag: string;
  key: string;
  noKey: boolean;
  feed: string;
  checkin: string;
  outOfDate: boolean;
  kernel: string;
  sort: ServerSortField | '';
  dir: SortDirection;
  size: number;
  after: string;
}

/** Reads the list state from URL parameters. */
export function readServerQuery(params: URLSearchParams): ServerQuery {
  const size = Number(params.get('size'));
  const sort = params.get('sort') ?? '';
  return {
    search: params.get('q') ?? '',
    tag: params.get('tag') ?? '',
    key: params.get('key') ?? '',
    noKey: params.get('nokey') === '1',
    feed: params.get('feed') ?? '',
    checkin: CHECKIN_CHOICES.some(([v]) => v === params.get('checkin')) ? (params.get('checkin') ?? '') : '',
    outOfDate: params.get('outdated') === '1',
    kernel: params.get('kernel') ?? '',
    sort: (SORT_FIELDS as string[]).includes(sort) ? (sort as ServerSortField) : '',
    dir: params.get('dir') === 'DESC' ? 'DESC' : 'ASC',
    size: Number.isInteger(size) && size >= 1 && size <= 500 ? size : 50,
    after: params.get('after') ?? '',
  };
}

/** Writes the list state as URL parameters (defaults left out). */
export function serverQueryParams(q: ServerQuery): URLSearchParams {
  const p = new URLSearchParams();
  if (q.search) p.set('q', q.search);
  if (q.tag) p.set('tag', q.tag);
  if (q.key) p.set('key', q.key);
  if (q.noKey) p.set('nokey', '1');
  if (q.feed) p.set('feed', q.feed);
  if (q.checkin) p.set('checkin', q.checkin);
  if (q.outOfDate) p.set('outdated', '1');
  if (q.kernel) p.set('kernel', q.kernel);
  if (q.sort) p.set('sort', q.sort);
  if (q.sort && q.dir === 'DESC') p.set('dir', 'DESC');
  if (q.size !== 50) p.set('size', String(q.size));
  if (q.after) p.set('after', q.after);
  return p;
}

/** The `servers` query variables for a list state; `fixedKey` pins the key (servers of one key). */
export function serverVariables(q: ServerQuery, fixedKey?: string): ServersVars {
  const filter: ServerFilter = {};
  if (q.search.trim()) filter.search = q.search.trim();
  if (q.tag.trim()) filter.tag = q.tag.trim();
  if (fixedKey !== undefined) filter.key = fixedKey;
  else if (q.noKey) filter.withoutKey = true;
  else if (q.key) filter.key = q.key;
  if (q.feed) filter.feed = q.feed;
  const [kind, hours] = q.checkin.split('-');
  if (kind === 'within') filter.checkedInWithinHours = Number(hours);
  if (kind === 'stale') filter.notCheckedInForHours = Number(hours);
  if (q.outOfDate) filter.outOfDate = true;
  if (q.kernel.trim()) filter.kernel = q.kernel.trim();
  return {
    filter: Object.keys(filter).length ? filter : null,
    sort: q.sort ? { field: q.sort, direction: q.dir } : null,
    first: q.size,
    after: q.after || null,
  };
}

/** The list with no filter, default sort and page size. */
export function emptyServerQuery(): ServerQuery {
  return readServerQuery(new URLSearchParams());
}
