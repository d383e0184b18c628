// Deploy X = X and every older patchset (of its product) not yet deployed in
// the feed; roll back X = X and every newer one. Metadata only: no file moves.
// Each runs in one transaction whose first statement bumps the feed's
// revision, taking the write lock (SQLite) or the feed row's lock
// (PostgreSQL) before anything is read, so concurrent deploys and rollbacks of
// one feed serialise and the deployed set stays a prefix.
import type { PrismaClient } from '../generated/prisma/client.js';
import { DomainError, prismaErrorCode } from '../commands/errors.js';
import { bumpIndexGeneration } from './feed-index.js';
import { writeTransaction, type Tx } from '../db/write-transaction.js';


export interface DeployResult {
  feed: string;
  changed: string[];
}

/** The patchsets of one product in deploy order: (releasedAt, name). */
export async function orderedPatchsets(db: Pick<PrismaClient, 'patchset'>, product: string) {
  return db.patchset.findMany({ where: { product }, orderBy: [{ releasedAt: 'asc' }, { name: 'asc' }], select: { id: true, name: true, blocked: true, appearedAt: true } });
}

async function lockFeed(tx: Tx, feedId: number) {
  try {
    return await tx.feed.update({ where: { id: feedId }, data: { revision: { increment: 1 } } });
  } catch (err) {
    if (prismaErrorCode(err) === 'P2025') throw new DomainError('FEED_NOT_FOUND', `feed ${feedId} not found`);
    throw err;
  }
}

async function target(tx: Tx, name: string) {
  const ps = await tx.patchset.findUnique({ where: { name } });
  if (!ps) throw new DomainError('PATCHSET_NOT_FOUND', `patchset '${name.slice(0, 80)}' not found`);
  return ps;
}

/** Deploys `name` and everything before it to the feed. */
export async function deployUpTo(prisma: PrismaClient, feedId: number, name: string, by = ''): Promise<DeployResult> {
  return writeTransaction(prisma, async (tx) => {
    const feed = await lockFeed(tx, feedId);
    const ps = await target(tx, name);
    if (ps.blocked) throw new DomainError('PATCHSET_BLOCKED', `patchset ${name} is blocked upstream and cannot be deployed`);
    const order = await orderedPatchsets(tx, ps.product);
    const upTo = order.findIndex((p) => p.id === ps.id);
    const deployed = new Set((await tx.deployment.findMany({ where: { feedId }, select: { patchsetId: true } })).map((d) => d.patchsetId));
    const add = order.slice(0, upTo + 1).filter((p) => !p.blocked && !deployed.has(p.id));
    if (add.length) {
      await tx.deployment.createMany({ data: add.map((p) => ({ feedId, patchsetId: p.id, deployedBy: by })) });
      await bumpIndexGeneration(tx);
    }
    return { feed: feed.name, changed: add.map((p) => p.name) };
  });
}

/** Rolls back `name` and everything after it from the feed. */
export async function rollBackFrom(prisma: PrismaClient, feedId: number, name: string): Promise<DeployResult> {
  return writeTransaction(prisma, async (tx) => {
    const feed = await lockFeed(tx, feedId);
    const ps = await target(tx, name);
    const order = await orderedPatchsets(tx, ps.product);
    const from = order.findIndex((p) => p.id === ps.id);
    const candidates = order.slice(from).map((p) => p.id);
    const removed = await tx.deployment.findMany({ where: { feedId, patchsetId: { in: candidates } }, select: { patchset: { select: { name: true } } } });
    if (removed.length) {
      await tx.deployment.deleteMany({ where: { feedId, patchsetId: { in: candidates } } });
      await bumpIndexGeneration(tx);
    }
    return { feed: feed.name, changed: removed.map((r) => r.patchset.name) };
  });
}
