// Feeds: create, edit, delete (keys move to the default feed; the default feed
// itself cannot be deleted). Shared by the CLI and the API.
import { z } from 'zod';
import type { PrismaClient } from '../generated/prisma/client.js';
import { bumpIndexGeneration } from '../patches/feed-index.js';
import { writeTransaction } from '../db/write-transaction.js';
import { DomainError, prismaErrorCode, quote } from './errors.js';

const feedInput = z.object({
  name: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, space, . _ -'),
  autoUpdate: z.boolean().default(false),
  deployAfterHours: z.number().int().min(0).max(24 * 365).default(0),
  channel: z.enum(['default', 'stable', 'test', 'unstable']).default('default'),
});

export type FeedInput = z.input<typeof feedInput>;

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new DomainError('INVALID_INPUT', r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
  return r.data;
}

/** The named feed, or the default feed when `name` is empty/undefined. */
export async function resolveFeed(prisma: PrismaClient, name?: string | null) {
  const feed = name ? await prisma.feed.findUnique({ where: { name } }) : await prisma.feed.findFirst({ where: { isDefault: true } });
  if (!feed) throw new DomainError('FEED_NOT_FOUND', `feed ${quote(name ?? 'default')} not found`);
  return feed;
}

/** Every feed with its number of keys and deployed patchsets. */
export async function listFeeds(prisma: PrismaClient) {
  const feeds = await prisma.feed.findMany({ orderBy: [{ isDefault: 'desc' }, { name: 'asc' }], include: { _count: { select: { keys: true, deployments: true } } } });
  return feeds.map(({ _count, ...f }) => ({ ...f, keyCount: _count.keys, deployedCount: _count.deployments }));
}

/** Creates a feed. */
export async function createFeed(prisma: PrismaClient, input: FeedInput) {
  const data = parse(feedInput, input);
  try {
    return await prisma.feed.create({ data });
  } catch (err) {
    if (prismaErrorCode(err) === 'P2002') throw new DomainError('FEED_EXISTS', `feed ${quote(data.name)} already exists`);
    throw err;
  }
}

/** Changes a feed's settings (and name). */
export async function updateFeed(prisma: PrismaClient, name: string, patch: Partial<FeedInput>) {
  const feed = await resolveFeed(prisma, name);
  const data = parse(feedInput.partial(), patch);
  try {
    return await prisma.feed.update({ where: { id: feed.id }, data: stripUndefined(data) });
  } catch (err) {
    if (prismaErrorCode(err) === 'P2002') throw new DomainError('FEED_EXISTS', `feed ${quote(String(data.name))} already exists`);
    throw err;
  }
}

/** Deletes a feed; its keys move to the default feed. Returns how many keys moved. */
export async function deleteFeed(prisma: PrismaClient, name: string): Promise<{ movedKeys: number }> {
  return writeTransaction(prisma, async (tx) => {
    const feed = await tx.feed.findUnique({ where: { name } });
    if (!feed) throw new DomainError('FEED_NOT_FOUND', `feed ${quote(name)} not found`);
    if (feed.isDefault) throw new DomainError('FEED_IS_DEFAULT', 'the default feed cannot be deleted');
    const def = await tx.feed.findFirstOrThrow({ where: { isDefault: true } });
    const moved = await tx.key.updateMany({ where: { feedId: feed.id }, data: { feedId: def.id } });
    await tx.feed.delete({ where: { id: feed.id } });
    await bumpIndexGeneration(tx);
    return { movedKeys: moved.count };
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
