// Servers for the console and the API: one page of a filtered, sorted list
// (keyset pagination, so page 1,000 costs what page 1 does), counts, delete,
// tags. The filter is one SQL WHERE in portable SQL (double-quoted names,
// LIKE ... ESCAPE, explicit NULLS FIRST/LAST) so it reads the same on SQLite
// and PostgreSQL.
import { parseTags, type Tag } from '../agent/tags.js';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { DomainError, quote } from './errors.js';

/** What to list; every field optional, all given ones must match. */
export interface ServerFilter {
  /** hostname, `*` and `?` wildcards */
  hostname?: string | null;
  /** IP address, `*` and `?` wildcards */
  ip?: string | null;
  /** hostname or IP, wildcards */
  search?: string | null;
  /** servers of this key */
  key?: string | null;
  /** true: only servers that belong to no key */
  withoutKey?: boolean | null;
  /** servers whose key is bound to this feed (no key: the default feed) */
  feed?: string | null;
  /** `name` (tag present) or `name:value` */
  tag?: string | null;
  /** checked in within the last N hours */
  checkedInWithinHours?: number | null;
  /** no check-in for N hours or more (never checked in included) */
  notCheckedInForHours?: number | null;
  /** true: runs an older patch level than its feed has deployed for its kernel */
  outOfDate?: boolean | null;
  /** effective kernel (wildcards) or exact kernel id */
  kernel?: string | null;
}

/** Sortable columns. */
export const SERVER_SORT_FIELDS = ['ID', 'HOSTNAME', 'IP', 'REGISTERED_AT', 'LAST_CHECKIN_AT', 'PATCH_LEVEL', 'KERNEL'] as const;
/** A sortable column. */
export type ServerSortField = (typeof SERVER_SORT_FIELDS)[number];
/** Sort direction (NULL sorts as the smallest value). */
export type SortDirection = 'ASC' | 'DESC';

/** One page request. */
export interface ServerPageArgs {
  filter?: ServerFilter | null;
  sort?: { field: ServerSortField; direction: SortDirection } | null;
  first: number;
  after?: string | null;
}

/** One page of server ids in order, with their cursors. */
export interface ServerIdPage {
  ids: number[];
  cursors: string[];
  hasNextPage: boolean;
}

/** Largest page. */
export const MAX_PAGE_SIZE = 500;
const MAX_PATTERN = 255;

const COLUMNS: Record<ServerSortField, { sql: Prisma.Sql; kind: 'int' | 'text' | 'date' }> = {
  ID: { sql: Prisma.raw('s."id"'), kind: 'int' },
  HOSTNAME: { sql: Prisma.raw('s."hostname"'), kind: 'text' },
  IP: { sql: Prisma.raw('s."ip"'), kind: 'text' },
  REGISTERED_AT: { sql: Prisma.raw('s."registeredAt"'), kind: 'date' },
  LAST_CHECKIN_AT: { sql: Prisma.raw('s."lastCheckinAt"'), kind: 'date' },
  PATCH_LEVEL: { sql: Prisma.raw('s."patchLevel"'), kind: 'int' },
  KERNEL: { sql: Prisma.raw('s."effectiveKernel"'), kind: 'text' },
};

/** `*`/`?` wildcards to a LIKE pattern (escape character `\`); null when the text has no wildcard. */
export function wildcardToLike(pattern: string): string | null {
  if (!/[*?]/.test(pattern)) return null;
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

function textMatch(column: Prisma.Sql, pattern: string): Prisma.Sql {
  if (pattern.length > MAX_PATTERN) throw new DomainError('INVALID_INPUT', `pattern is too long: at most ${MAX_PATTERN} characters`);
  const like = wildcardToLike(pattern);
  return like === null ? Prisma.sql`${column} = ${pattern}` : Prisma.sql`${column} LIKE ${like} ESCAPE '\\'`;
}

function hours(h: number, name: string): number {
  if (!Number.isInteger(h) || h < 0 || h > 24 * 3650) throw new DomainError('INVALID_INPUT', `${name} must be a whole number of hours from 0 to 87600`);
  return h * 3_600_000;
}

async function feedIdOf(prisma: PrismaClient, name: string): Promise<number> {
  const feed = await prisma.feed.findUnique({ where: { name }, select: { id: true } });
  if (!feed) throw new DomainError('FEED_NOT_FOUND', `feed ${quote(name)} does not exist`);
  return feed.id;
}

async function defaultFeedId(prisma: PrismaClient): Promise<number> {
  return (await prisma.feed.findFirstOrThrow({ where: { isDefault: true }, select: { id: true } })).id;
}

/** The SQL conditions of a filter (joined with AND), needing `s` = Server and `k` = Key (left join). */
export async function serverWhere(prisma: PrismaClient, filter: ServerFilter | null | undefined, now: number): Promise<Prisma.Sql[]> {
  const f = filter ?? {};
  const where: Prisma.Sql[] = [];
  if (f.hostname) where.push(textMatch(Prisma.raw('s."hostname"'), f.hostname));
  if (f.ip) where.push(textMatch(Prisma.raw('s."ip"'), f.ip));
  if (f.search) where.push(Prisma.sql`(${textMatch(Prisma.raw('s."hostname"'), f.search)} OR ${textMatch(Prisma.raw('s."ip"'), f.search)})`);
  if (f.key) {
    const key = await prisma.key.findUnique({ where: { key: f.key }, select: { id: true } });
    if (!key) throw new DomainError('KEY_NOT_FOUND', `key ${quote(f.key)} does not exist`);
    where.push(Prisma.sql`s."keyId" = ${key.id}`);
  }
  if (f.withoutKey === true) where.push(Prisma.sql`s."keyId" IS NULL`);
  if (f.withoutKey === false) where.push(Prisma.sql`s."keyId" IS NOT NULL`);
  if (f.feed || f.outOfDate != null) {
    const def = await defaultFeedId(prisma);
    const feedOfServer = Prisma.sql`COALESCE(k."feedId", ${def})`;
    if (f.feed) where.push(Prisma.sql`${feedOfServer} = ${await feedIdOf(prisma, f.feed)}`);
    if (f.outOfDate != null) {
      const latest = Prisma.sql`COALESCE((SELECT MAX(pk."level") FROM "PatchsetKernel" pk JOIN "Deployment" d ON d."patchsetId" = pk."patchsetId"
        WHERE pk."kernelId" = s."kernelId" AND d."feedId" = ${feedOfServer}), 0)`;
      where.push(f.outOfDate
        ? Prisma.sql`(s."kernelId" IS NOT NULL AND COALESCE(s."patchLevel", 0) < ${latest})`
        : Prisma.sql`(s."kernelId" IS NULL OR COALESCE(s."patchLevel", 0) >= ${latest})`);
    }
  }
  if (f.tag) {
    const parsed = parseTags(f.tag);
    const tag = parsed.ok && parsed.tags.length === 1 ? parsed.tags[0]! : null;
    if (!tag) throw new DomainError('INVALID_INPUT', 'tag filter must be one `name` or `name:value`');
    where.push(tag.value === null
      ? Prisma.sql`EXISTS (SELECT 1 FROM "ServerTag" t WHERE t."serverId" = s."id" AND t."name" = ${tag.name})`
      : Prisma.sql`EXISTS (SELECT 1 FROM "ServerTag" t WHERE t."serverId" = s."id" AND t."name" = ${tag.name} AND t."value" = ${tag.value})`);
  }
  if (f.checkedInWithinHours != null) where.push(Prisma.sql`s."lastCheckinAt" >= ${new Date(now - hours(f.checkedInWithinHours, 'checkedInWithinHours'))}`);
  if (f.notCheckedInForHours != null) {
    where.push(Prisma.sql`(s."lastCheckinAt" IS NULL OR s."lastCheckinAt" < ${new Date(now - hours(f.notCheckedInForHours, 'notCheckedInForHours'))})`);
  }
  if (f.kernel) where.push(Prisma.sql`(${textMatch(Prisma.raw('s."effectiveKernel"'), f.kernel)} OR s."kernelId" = ${f.kernel})`);
  return where;
}

function needsKeyJoin(filter: ServerFilter | null | undefined): boolean {
  return !!filter && (!!filter.feed || filter.outOfDate != null);
}

function and(where: Prisma.Sql[]): Prisma.Sql {
  return where.length ? Prisma.sql`WHERE ${Prisma.join(where, ' AND ')}` : Prisma.empty;
}

type CursorValue = number | string | null;

function encodeCursor(field: ServerSortField, dir: SortDirection, value: CursorValue, id: number): string {
  return Buffer.from(JSON.stringify([field, dir, value, id])).toString('base64url');
}

function decodeCursor(cursor: string, field: ServerSortField, dir: SortDirection): { value: CursorValue; id: number } {
  try {
    const [f, d, value, id] = JSON.parse(Buffer.from(cursor.slice(0, 2048), 'base64url').toString('utf8')) as unknown[];
    if (f === field && d === dir && Number.isInteger(id) && (value === null || typeof value === 'number' || typeof value === 'string')) {
      return { value, id: id as number };
    }
  } catch {
    // fall through
  }
  throw new DomainError('INVALID_INPUT', 'invalid cursor (it must come from the same sort order)');
}

function cursorValue(kind: 'int' | 'text' | 'date', v: unknown): CursorValue {
  if (v === null || v === undefined) return null;
  if (kind === 'date') return v instanceof Date ? v.getTime() : new Date(String(v)).getTime();
  if (kind === 'int') return Number(v);
  return String(v);
}

function sqlValue(kind: 'int' | 'text' | 'date', v: number | string): unknown {
  return kind === 'date' ? new Date(Number(v)) : v;
}

// Rows after (value, id) in the order "NULL is smallest", ties broken by id in the same direction.
function after(col: Prisma.Sql, kind: 'int' | 'text' | 'date', dir: SortDirection, c: { value: CursorValue; id: number }): Prisma.Sql {
  const id = Prisma.raw('s."id"');
  if (col === COLUMNS.ID.sql) return dir === 'ASC' ? Prisma.sql`${id} > ${c.id}` : Prisma.sql`${id} < ${c.id}`;
  if (c.value === null) {
    return dir === 'ASC'
      ? Prisma.sql`((${col} IS NULL AND ${id} > ${c.id}) OR ${col} IS NOT NULL)`
      : Prisma.sql`(${col} IS NULL AND ${id} < ${c.id})`;
  }
  const v = sqlValue(kind, c.value);
  return dir === 'ASC'
    ? Prisma.sql`(${col} > ${v} OR (${col} = ${v} AND ${id} > ${c.id}))`
    : Prisma.sql`(${col} < ${v} OR (${col} = ${v} AND ${id} < ${c.id}) OR ${col} IS NULL)`;
}

/** One page of matching server ids in the requested order. */
export async function findServerPage(prisma: PrismaClient, args: ServerPageArgs, now: number): Promise<ServerIdPage> {
  if (!Number.isInteger(args.first) || args.first < 0 || args.first > MAX_PAGE_SIZE) {
    throw new DomainError('INVALID_INPUT', `first must be from 0 to ${MAX_PAGE_SIZE}`);
  }
  const field = args.sort?.field ?? 'ID';
  const dir = args.sort?.direction ?? 'ASC';
  const { sql: col, kind } = COLUMNS[field];
  const where = await serverWhere(prisma, args.filter, now);
  if (args.after) where.push(after(col, kind, dir, decodeCursor(args.after, field, dir)));
  const join = needsKeyJoin(args.filter) ? Prisma.sql`LEFT JOIN "Key" k ON k."id" = s."keyId"` : Prisma.empty;
  const order = field === 'ID'
    ? Prisma.raw(`s."id" ${dir}`)
    : Prisma.sql`${col} ${Prisma.raw(dir === 'ASC' ? 'ASC NULLS FIRST' : 'DESC NULLS LAST')}, s."id" ${Prisma.raw(dir)}`;
  const rows = await prisma.$queryRaw<{ id: number | bigint; v: unknown }[]>`
    SELECT s."id" AS "id", ${col} AS "v" FROM "Server" s ${join} ${and(where)} ORDER BY ${order} LIMIT ${args.first + 1}`;
  const page = rows.slice(0, args.first);
  return {
    ids: page.map((r) => Number(r.id)),
    cursors: page.map((r) => encodeCursor(field, dir, cursorValue(kind, r.v), Number(r.id))),
    hasNextPage: rows.length > args.first,
  };
}

/** How many servers match a filter (a COUNT over the matching rows: cheap with selective filters). */
export async function countServers(prisma: PrismaClient, filter: ServerFilter | null | undefined, now: number): Promise<number> {
  const where = await serverWhere(prisma, filter, now);
  const join = needsKeyJoin(filter) ? Prisma.sql`LEFT JOIN "Key" k ON k."id" = s."keyId"` : Prisma.empty;
  const rows = await prisma.$queryRaw<{ n: number | bigint }[]>`SELECT COUNT(*) AS "n" FROM "Server" s ${join} ${and(where)}`;
  return Number(rows[0]?.n ?? 0);
}

/** Largest number of servers one delete call takes. */
export const MAX_DELETE = 1000;

/** Deletes servers by id (their agents must register again); returns how many existed. */
export async function deleteServers(prisma: PrismaClient, ids: readonly number[]): Promise<number> {
  if (ids.length > MAX_DELETE) throw new DomainError('INVALID_INPUT', `delete at most ${MAX_DELETE} servers at once`);
  if (ids.length === 0) return 0;
  const { count } = await prisma.server.deleteMany({ where: { id: { in: [...new Set(ids)] } } });
  return count;
}

/** Replaces a server's tags with those of a `name:value;bare` string (empty: no tags); SERVER_NOT_FOUND. */
export async function setServerTags(prisma: PrismaClient, id: number, tags: string): Promise<Tag[]> {
  const parsed = parseTags(tags);
  if (!parsed.ok) throw new DomainError('INVALID_INPUT', parsed.message);
  return prisma.$transaction(async (tx) => {
    const { count } = await tx.serverTag.deleteMany({ where: { serverId: id } });
    if (count === 0 && !(await tx.server.findUnique({ where: { id }, select: { id: true } }))) {
      throw new DomainError('SERVER_NOT_FOUND', `server ${id} does not exist`);
    }
    await tx.serverTag.createMany({ data: parsed.tags.map((t) => ({ serverId: id, name: t.name, value: t.value })) });
    return parsed.tags;
  });
}
