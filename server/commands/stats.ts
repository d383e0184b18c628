// Fleet numbers for the start page, read from what is cheap at 1,000,000
// servers: per-key counts from KeyServerCount (kept by triggers), and ranges
// of the lastCheckinAt index.
import type { PrismaClient } from '../generated/prisma/client.js';

/** Servers per key id (0 = without a key), from the trigger-maintained counters. */
export async function serverCountsByKey(prisma: PrismaClient): Promise<Map<number, number>> {
  const rows = await prisma.keyServerCount.findMany({ select: { keyId: true, count: true } });
  return new Map(rows.map((r) => [r.keyId, r.count]));
}

/** One key's line in the inventory. */
export interface InventoryLine {
  keyId: number;
  key: string;
  serverCount: number;
}

/** Every key (oldest first) with its number of servers, the servers without a key, and the total. */
export async function inventory(prisma: PrismaClient): Promise<{ keys: InventoryLine[]; withoutKey: number; total: number }> {
  const [keys, counts] = await Promise.all([prisma.key.findMany({ select: { id: true, key: true }, orderBy: { id: 'asc' } }), serverCountsByKey(prisma)]);
  let total = 0;
  for (const n of counts.values()) total += n;
  return { keys: keys.map((k) => ({ keyId: k.id, key: k.key, serverCount: counts.get(k.id) ?? 0 })), withoutKey: counts.get(0) ?? 0, total };
}

/** Servers whose last check-in is at or after `since` (an index range count). */
export async function countCheckedInSince(prisma: PrismaClient, since: Date): Promise<number> {
  return prisma.server.count({ where: { lastCheckinAt: { gte: since } } });
}

/** Servers whose last check-in lies in [from, to): those that went quiet between two instants. */
export async function countLastCheckinBetween(prisma: PrismaClient, from: Date, to: Date): Promise<number> {
  if (to <= from) return 0;
  return prisma.server.count({ where: { lastCheckinAt: { gte: from, lt: to } } });
}
