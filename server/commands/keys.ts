// Registration keys: the operations behind `kc.eportal key ...`,
// `--list-servers` and the GraphQL key mutations and key inventory.
import { z } from 'zod';
import { generateKey } from '../agent/server-id.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { DomainError, parseInput, prismaErrorCode, quote } from './errors.js';
import { serverCountsByKey } from './stats.js';

/** Longest key accepted. */
export const KEY_MAX_LENGTH = 64;
/** Characters a key may use. */
export const KEY_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Longest key description accepted. */
export const KEY_DESCRIPTION_MAX_LENGTH = 1024;
/** Largest server limit (the column is a 32-bit integer on PostgreSQL). */
export const SERVER_LIMIT_MAX = 2_147_483_647;

/** A key with its feed's name. */
export interface KeyInfo {
  id: number;
  key: string;
  description: string;
  /** null = no limit */
  serverLimit: number | null;
  feed: string;
  createdAt: Date;
}

/** A key with the number of servers registered with it. */
export interface KeyWithServers extends KeyInfo {
  servers: number;
}

/** Servers per key, for `--list-servers` and the start page. */
export interface KeyInventory {
  /** every key, oldest first, including keys without servers */
  keys: { key: string; count: number }[];
  /** servers that belong to no key */
  withoutKey: number;
}

/** Input of createKey; every field optional. */
export interface CreateKeyInput {
  /** blank or omitted: a random 16-character key */
  key?: string | null;
  description?: string | null;
  /** null or omitted: no limit */
  serverLimit?: number | null;
  /** feed name; omitted: the default feed */
  feed?: string | null;
}

/** Input of updateKey; omitted fields stay as they are. */
export interface UpdateKeyInput {
  /** a new key string (servers stay with the key) */
  key?: string;
  description?: string;
  /** null: no limit */
  serverLimit?: number | null;
  feed?: string;
}

const keySelect = {
  id: true,
  key: true,
  description: true,
  serverLimit: true,
  createdAt: true,
  feed: { select: { name: true } },
} satisfies Prisma.KeySelect;

type KeyRow = Prisma.KeyGetPayload<{ select: typeof keySelect }>;

const keyString = z.string().trim();
const description = z
  .string()
  .max(KEY_DESCRIPTION_MAX_LENGTH, `description is too long: use at most ${KEY_DESCRIPTION_MAX_LENGTH} characters`);
const serverLimit = z
  .number({ error: 'server limit must be a whole number' })
  .int('server limit must be a whole number')
  .min(0, 'server limit must be 0 or more (or none for no limit)')
  .max(SERVER_LIMIT_MAX, `server limit must be at most ${SERVER_LIMIT_MAX}`)
  .nullable();
const feedName = z.string().trim().min(1, 'feed name is empty');

const createSchema = z
  .object({
    key: keyString.nullish(),
    description: description.nullish(),
    serverLimit: serverLimit.optional(),
    feed: feedName.nullish(),
  })
  .strict();

const updateSchema = z
  .object({
    key: keyString.optional(),
    description: description.optional(),
    serverLimit: serverLimit.optional(),
    feed: feedName.optional(),
  })
  .strict();

// Interactive transactions may wait for SQLite's write lock (busy timeout 10 s).
const TX = { maxWait: 15_000, timeout: 60_000 };

/** Checks a key string against the rules; returns what is wrong, or null. */
export function validateKey(key: string): string | null {
  if (key.length >= 1 && key.length <= KEY_MAX_LENGTH && KEY_PATTERN.test(key)) return null;
  return `invalid key ${quote(key)}: use 1 to ${KEY_MAX_LENGTH} characters from A-Z a-z 0-9 _ -`;
}

/** Creates a key (a generated one when blank) bound to a feed (the default one when omitted); KEY_EXISTS, FEED_NOT_FOUND. */
export async function createKey(prisma: PrismaClient, input: CreateKeyInput = {}): Promise<KeyInfo> {
  const data = parseInput(createSchema, input);
  const generated = !data.key;
  if (data.key) checkKey(data.key);
  const feedId = await feedIdByName(prisma, data.feed ?? null);
  // a generated key colliding is a ~2^-95 event per pair, but costs nothing to handle
  for (let attempt = 1; ; attempt++) {
    const key = data.key || generateKey();
    try {
      const row = await prisma.key.create({
        data: { key, description: data.description ?? '', serverLimit: data.serverLimit ?? null, feedId },
        select: keySelect,
      });
      return toKeyInfo(row);
    } catch (err) {
      const code = prismaErrorCode(err);
      if (code === 'P2002' && generated && attempt < 5) continue;
      if (code === 'P2002') throw keyExists(key);
      if (code === 'P2003') throw feedNotFound(data.feed ?? null);
      throw err;
    }
  }
}

/** One key with its server count; KEY_NOT_FOUND when there is none. */
export async function getKey(prisma: PrismaClient, key: string): Promise<KeyWithServers> {
  const row = await prisma.key.findUnique({ where: { key }, select: { ...keySelect, _count: { select: { servers: true } } } });
  if (!row) throw keyNotFound(key);
  return { ...toKeyInfo(row), servers: row._count.servers };
}

/** Every key, oldest first, with its feed and server count (two queries, whatever the number of keys). */
export async function listKeys(prisma: PrismaClient): Promise<KeyWithServers[]> {
  const rows = await prisma.key.findMany({ select: keySelect, orderBy: { id: 'asc' } });
  const { byKeyId } = await serverCounts(prisma);
  return rows.map((row) => ({ ...toKeyInfo(row), servers: byKeyId.get(row.id) ?? 0 }));
}

/** Changes a key's string, description, server limit or feed; KEY_NOT_FOUND, KEY_EXISTS, FEED_NOT_FOUND. */
export async function updateKey(prisma: PrismaClient, key: string, input: UpdateKeyInput): Promise<KeyInfo> {
  const data = parseInput(updateSchema, input);
  if (data.key !== undefined) checkKey(data.key);
  const feedId = data.feed === undefined ? undefined : await feedIdByName(prisma, data.feed);
  try {
    const row = await prisma.key.update({
      where: { key },
      data: { key: data.key, description: data.description, serverLimit: data.serverLimit, feedId },
      select: keySelect,
    });
    return toKeyInfo(row);
  } catch (err) {
    const code = prismaErrorCode(err);
    if (code === 'P2025') throw keyNotFound(key);
    if (code === 'P2002') throw keyExists(data.key ?? key);
    if (code === 'P2003') throw feedNotFound(data.feed ?? null);
    throw err;
  }
}

/** Deletes a key and, through the foreign key's ON DELETE CASCADE, every server registered with it; KEY_NOT_FOUND. */
export async function deleteKey(prisma: PrismaClient, key: string): Promise<{ key: string; serversDeleted: number }> {
  return prisma.$transaction(async (tx) => {
    // A write first, so SQLite takes its write lock now and the count below is
    // exact (a transaction that reads first fails with SQLITE_BUSY when another
    // process commits meanwhile).
    const { count } = await tx.key.updateMany({ where: { key }, data: { key } });
    if (count === 0) throw keyNotFound(key);
    const { id } = await tx.key.findUniqueOrThrow({ where: { key }, select: { id: true } });
    const serversDeleted = await tx.server.count({ where: { keyId: id } });
    await tx.key.delete({ where: { id } });
    return { key, serversDeleted };
  }, TX);
}

/** Servers per key, including keys with none, and the servers without a key (two queries). */
export async function keyInventory(prisma: PrismaClient): Promise<KeyInventory> {
  const keys = await prisma.key.findMany({ select: { id: true, key: true }, orderBy: { id: 'asc' } });
  const { byKeyId, withoutKey } = await serverCounts(prisma);
  return { keys: keys.map((k) => ({ key: k.key, count: byKeyId.get(k.id) ?? 0 })), withoutKey };
}

// Read from KeyServerCount, which triggers keep exact: no count over Server.
async function serverCounts(prisma: PrismaClient): Promise<{ byKeyId: Map<number, number>; withoutKey: number }> {
  const byKeyId = await serverCountsByKey(prisma);
  const withoutKey = byKeyId.get(0) ?? 0;
  byKeyId.delete(0);
  return { byKeyId, withoutKey };
}

async function feedIdByName(prisma: PrismaClient, name: string | null): Promise<number> {
  const feed = name === null
    ? await prisma.feed.findFirst({ where: { isDefault: true }, select: { id: true } })
    : await prisma.feed.findUnique({ where: { name }, select: { id: true } });
  if (!feed) throw feedNotFound(name);
  return feed.id;
}

function checkKey(key: string): void {
  const bad = validateKey(key);
  if (bad) throw new DomainError('INVALID_INPUT', bad);
}

function toKeyInfo(row: KeyRow): KeyInfo {
  return { id: row.id, key: row.key, description: row.description, serverLimit: row.serverLimit, feed: row.feed.name, createdAt: row.createdAt };
}

function keyExists(key: string): DomainError {
  return new DomainError('KEY_EXISTS', `key ${quote(key)} already exists`);
}

function keyNotFound(key: string): DomainError {
  return new DomainError('KEY_NOT_FOUND', `key ${quote(key)} does not exist`);
}

function feedNotFound(name: string | null): DomainError {
  return new DomainError('FEED_NOT_FOUND', name === null ? 'there is no default feed' : `feed ${quote(name)} does not exist`);
}
