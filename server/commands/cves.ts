// The CVE index (built at import from `kpatch-cve:` lines): which servers are
// still exposed to a CVE. Never walks servers in JS: first the fixing level
// per (feed, kernel) is computed from the CVE's rows and their deployments (a
// few rows), then the servers of each state are selected by SQL over Server
// (kernelId IN ..., patchLevel against the level, feed through Key), paged by
// server id, with the counts of every state in one pass over those kernels.
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { DomainError } from './errors.js';
import { MAX_PAGE_SIZE } from './servers.js';

/** A CVE id as `kpatch-cve:` lines carry it. */
export const CVE_ID = /^CVE-\d{4}-\d{4,7}$/;

/** Where a server stands for a CVE (UNKNOWN servers, whose kernel no patchset fixes, are never listed). */
export const CVE_STATES = ['EXPOSED', 'FIX_NOT_DEPLOYED', 'FIXED'] as const;
/** One of CVE_STATES. */
export type CveState = (typeof CVE_STATES)[number];

/** Servers per state. */
export interface CveCounts {
  exposed: number;
  fixNotDeployed: number;
  fixed: number;
}

/** What the store knows about one CVE, and the fixing level per feed and kernel. */
export interface CvePlan {
  cve: string;
  /** kernel ids some patchset fixes the CVE for, sorted */
  kernels: string[];
  /** patchsets carrying it, in deploy order */
  patchsets: { id: number; name: string }[];
  /** feed id → kernel id → lowest level of a deployed patchset carrying the CVE for that kernel */
  fixes: Map<number, Map<string, number>>;
  /** the feed of servers without a key */
  defaultFeedId: number;
}

/** One listed server. */
export interface CveServerRow {
  id: number;
  hostname: string;
  ip: string;
  key: string | null;
  kernelId: string;
  patchLevel: number | null;
  /** the fixing level in the server's feed; null when FIX_NOT_DEPLOYED */
  fixingLevel: number | null;
  cursor: string;
}

/** One page of servers in one state, ordered by id. */
export interface CveServerPage {
  rows: CveServerRow[];
  hasNextPage: boolean;
}

/** INVALID_INPUT unless `id` is a CVE id (upper-cased first). */
export function normalizeCveId(id: string): string {
  const cve = id.trim().toUpperCase();
  if (!CVE_ID.test(cve)) throw new DomainError('INVALID_INPUT', 'a CVE id looks like CVE-2024-1234');
  return cve;
}

/** The CVE's kernels, patchsets and fixing levels per feed; null when no patchset in the store carries it. */
export async function cvePlan(prisma: PrismaClient, id: string): Promise<CvePlan | null> {
  const cve = normalizeCveId(id);
  const rows = await prisma.$queryRaw<{ kernelId: string; patchsetId: number | bigint; level: number | bigint; name: string }[]>`
    SELECT c."kernelId" AS "kernelId", c."patchsetId" AS "patchsetId", pk."level" AS "level", p."name" AS "name"
    FROM "PatchsetCve" c
    JOIN "PatchsetKernel" pk ON pk."patchsetId" = c."patchsetId" AND pk."kernelId" = c."kernelId"
    JOIN "Patchset" p ON p."id" = c."patchsetId"
    WHERE c."cve" = ${cve}
    ORDER BY p."releasedAt", p."name"`;
  if (rows.length === 0) return null;
  const patchsetIds = [...new Set(rows.map((r) => Number(r.patchsetId)))];
  const [deployments, defaultFeed] = await Promise.all([
    prisma.deployment.findMany({ where: { patchsetId: { in: patchsetIds } }, select: { feedId: true, patchsetId: true } }),
    prisma.feed.findFirstOrThrow({ where: { isDefault: true }, select: { id: true } }),
  ]);
  const feedsOf = new Map<number, number[]>();
  for (const d of deployments) feedsOf.set(d.patchsetId, [...(feedsOf.get(d.patchsetId) ?? []), d.feedId]);
  const fixes = new Map<number, Map<string, number>>();
  const names = new Map<number, string>();
  for (const r of rows) {
    const patchsetId = Number(r.patchsetId);
    const level = Number(r.level);
    names.set(patchsetId, r.name);
    for (const feedId of feedsOf.get(patchsetId) ?? []) {
      let byKernel = fixes.get(feedId);
      if (!byKernel) fixes.set(feedId, (byKernel = new Map()));
      const known = byKernel.get(r.kernelId);
      if (known === undefined || level < known) byKernel.set(r.kernelId, level);
    }
  }
  return {
    cve,
    kernels: [...new Set(rows.map((r) => r.kernelId))].sort(),
    patchsets: [...names].map(([pid, name]) => ({ id: pid, name })),
    fixes,
    defaultFeedId: defaultFeed.id,
  };
}

// The feed of server `s` (Key `k` left-joined): servers without a key get the default feed.
function feedOf(plan: CvePlan): Prisma.Sql {
  return Prisma.sql`COALESCE(k."feedId", ${plan.defaultFeedId})`;
}

const inList = (values: readonly (string | number)[]) => Prisma.join(values.map((v) => Prisma.sql`${v}`));

// (feed, level) → kernels: one OR term per group instead of one per kernel.
function groups(plan: CvePlan): { feedId: number; level: number; kernels: string[] }[] {
  const out: { feedId: number; level: number; kernels: string[] }[] = [];
  for (const [feedId, byKernel] of plan.fixes) {
    const byLevel = new Map<number, string[]>();
    for (const [kernel, level] of byKernel) byLevel.set(level, [...(byLevel.get(level) ?? []), kernel]);
    for (const [level, kernels] of byLevel) out.push({ feedId, level, kernels });
  }
  return out;
}

const KERNEL = Prisma.raw('s."kernelId"');
// the same column, hidden from SQLite's index choice (so it walks the table in id order)
const KERNEL_NO_INDEX = Prisma.raw(`(s."kernelId" || '')`);

/** The SQL condition (on `s` = Server, `k` = Key left join) of a state; FALSE when nothing can match. */
export function stateWhere(plan: CvePlan, state: CveState, kernel: Prisma.Sql = KERNEL): Prisma.Sql {
  const feed = feedOf(plan);
  if (state === 'FIX_NOT_DEPLOYED') {
    const deployed = [...plan.fixes].map(([feedId, byKernel]) => Prisma.sql`(${feed} = ${feedId} AND ${kernel} IN (${inList([...byKernel.keys()])}))`);
    const base = Prisma.sql`${kernel} IN (${inList(plan.kernels)})`;
    return deployed.length ? Prisma.sql`(${base} AND NOT (${Prisma.join(deployed, ' OR ')}))` : base;
  }
  const terms = groups(plan).map(({ feedId, level, kernels }) =>
    state === 'FIXED'
      ? Prisma.sql`(${feed} = ${feedId} AND ${kernel} IN (${inList(kernels)}) AND s."patchLevel" >= ${level})`
      : Prisma.sql`(${feed} = ${feedId} AND ${kernel} IN (${inList(kernels)}) AND (s."patchLevel" IS NULL OR s."patchLevel" < ${level}))`,
  );
  return terms.length ? Prisma.sql`(${Prisma.join(terms, ' OR ')})` : Prisma.sql`1 = 0`;
}

/** Servers per state: one pass over the servers of the CVE's kernels. */
export async function cveCounts(prisma: PrismaClient, plan: CvePlan): Promise<CveCounts> {
  const [r] = await prisma.$queryRaw<{ exposed: number | bigint | null; fixNotDeployed: number | bigint | null; fixed: number | bigint | null }[]>`
    SELECT
      SUM(CASE WHEN ${stateWhere(plan, 'EXPOSED')} THEN 1 ELSE 0 END) AS "exposed",
      SUM(CASE WHEN ${stateWhere(plan, 'FIX_NOT_DEPLOYED')} THEN 1 ELSE 0 END) AS "fixNotDeployed",
      SUM(CASE WHEN ${stateWhere(plan, 'FIXED')} THEN 1 ELSE 0 END) AS "fixed"
    FROM "Server" s LEFT JOIN "Key" k ON k."id" = s."keyId"
    WHERE s."kernelId" IN (${inList(plan.kernels)})`;
  return { exposed: Number(r?.exposed ?? 0), fixNotDeployed: Number(r?.fixNotDeployed ?? 0), fixed: Number(r?.fixed ?? 0) };
}

function encodeCursor(id: number): string {
  return Buffer.from(`cve:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^cve:(\d{1,15})$/.exec(Buffer.from(cursor.slice(0, 64), 'base64url').toString('utf8'));
  if (!m) throw new DomainError('INVALID_INPUT', 'invalid cursor');
  return Number(m[1]);
}

/** Above this many servers on the CVE's kernels a page walks Server in id order instead of the kernel index. */
export const DENSE_KERNEL_ROWS = 20_000;

/**
 * One page (by server id) of the servers in `state`. Few servers on the CVE's
 * kernels (a capped, index-only count tells): read them through the kernelId
 * index and sort; many: walk Server by id, which stops after about a page of
 * matches instead of sorting hundreds of thousands of rows.
 */
export async function cveServerPage(prisma: PrismaClient, plan: CvePlan, args: { state: CveState; first: number; after?: string | null }): Promise<CveServerPage> {
  if (!Number.isInteger(args.first) || args.first < 0 || args.first > MAX_PAGE_SIZE) {
    throw new DomainError('INVALID_INPUT', `first must be from 0 to ${MAX_PAGE_SIZE}`);
  }
  const [dense] = await prisma.$queryRaw<{ n: number | bigint }[]>`
    SELECT COUNT(*) AS "n" FROM (SELECT 1 FROM "Server" s WHERE s."kernelId" IN (${inList(plan.kernels)}) LIMIT ${DENSE_KERNEL_ROWS}) x`;
  const where = [stateWhere(plan, args.state, Number(dense?.n ?? 0) >= DENSE_KERNEL_ROWS ? KERNEL_NO_INDEX : KERNEL)];
  if (args.after) where.push(Prisma.sql`s."id" > ${decodeCursor(args.after)}`);
  const rows = await prisma.$queryRaw<{ id: number | bigint; hostname: string; ip: string; key: string | null; feedId: number | bigint | null; kernelId: string; patchLevel: number | bigint | null }[]>`
    SELECT s."id" AS "id", s."hostname" AS "hostname", s."ip" AS "ip", k."key" AS "key", k."feedId" AS "feedId", s."kernelId" AS "kernelId", s."patchLevel" AS "patchLevel"
    FROM "Server" s LEFT JOIN "Key" k ON k."id" = s."keyId"
    WHERE ${Prisma.join(where, ' AND ')}
    ORDER BY s."id" ASC LIMIT ${args.first + 1}`;
  return {
    hasNextPage: rows.length > args.first,
    rows: rows.slice(0, args.first).map((r) => {
      const id = Number(r.id);
      const feedId = r.feedId === null ? plan.defaultFeedId : Number(r.feedId);
      return {
        id,
        hostname: r.hostname,
        ip: r.ip,
        key: r.key,
        kernelId: r.kernelId,
        patchLevel: r.patchLevel === null ? null : Number(r.patchLevel),
        fixingLevel: plan.fixes.get(feedId)?.get(r.kernelId) ?? null,
        cursor: encodeCursor(id),
      };
    }),
  };
}

/** A CVE the store knows, with how many kernels and patchsets carry it. */
export interface CveSummary {
  id: string;
  kernelCount: number;
  patchsetCount: number;
}

/** Largest `cves(first:)`. */
export const MAX_CVE_LIST = 1000;

/** Known CVE ids, newest id first; `search` is a case-insensitive part of the id. */
export async function listCves(prisma: PrismaClient, opts: { search?: string | null; first?: number | null } = {}): Promise<CveSummary[]> {
  const first = opts.first ?? 100;
  if (!Number.isInteger(first) || first < 0 || first > MAX_CVE_LIST) throw new DomainError('INVALID_INPUT', `first must be from 0 to ${MAX_CVE_LIST}`);
  const search = (opts.search ?? '').trim().toUpperCase();
  if (search.length > 32) throw new DomainError('INVALID_INPUT', 'search is too long');
  const where = search ? Prisma.sql`WHERE "cve" LIKE ${`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} ESCAPE '\\'` : Prisma.empty;
  const rows = await prisma.$queryRaw<{ cve: string; kernels: number | bigint; patchsets: number | bigint }[]>`
    SELECT "cve" AS "cve", COUNT(DISTINCT "kernelId") AS "kernels", COUNT(DISTINCT "patchsetId") AS "patchsets"
    FROM "PatchsetCve" ${where} GROUP BY "cve" ORDER BY "cve" DESC LIMIT ${first}`;
  return rows.map((r) => ({ id: r.cve, kernelCount: Number(r.kernels), patchsetCount: Number(r.patchsets) }));
}
