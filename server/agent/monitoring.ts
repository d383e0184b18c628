// Monitoring endpoints under REGISTRATION_URL, no login (the key is the secret):
//   nagios/<KEY>    Nagios/Zabbix text: summary|perfdata, then one line per problem server
//   patchset/<KEY>  {"data": [[ip, kernel_id, patch_level], ...]} for vulnerability scanners
// Servers are read in pages and the answer streamed, so a key with a million
// servers costs memory for one page.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PrismaClient } from '../generated/prisma/client.js';
import { sendText } from '../http/plain.js';
import type { FeedIndex } from '../patches/feed-index.js';

export type ServerState = 'UPTODATE' | 'OUTOFDATE' | 'UNSUPPORTED' | 'INACTIVE';

interface MonitoredServer {
  hostname: string;
  ip: string;
  kernelId: string | null;
  patchLevel: number | null;
  lastCheckinAt: Date | null;
}

const PAGE = 5000;

/** Classifies a server against its feed: inactive beats unsupported beats out of date. */
export function serverState(s: MonitoredServer, feedId: number, index: FeedIndex, inactiveBefore: number): ServerState {
  if (!s.lastCheckinAt || s.lastCheckinAt.getTime() < inactiveBefore) return 'INACTIVE';
  const latest = s.kernelId ? index.latest(feedId, s.kernelId) : undefined;
  if (!latest || !latest.entry) return 'UNSUPPORTED';
  return (s.patchLevel ?? 0) < latest.level ? 'OUTOFDATE' : 'UPTODATE';
}

async function* serversOfKey(prisma: PrismaClient, keyId: number) {
  let cursor: number | undefined;
  for (;;) {
    const page = await prisma.server.findMany({
      where: { keyId },
      orderBy: { id: 'asc' },
      take: PAGE,
      ...(cursor !== undefined ? { cursor: { id: cursor }, skip: 1 } : {}),
      select: { id: true, hostname: true, ip: true, kernelId: true, patchLevel: true, lastCheckinAt: true },
    });
    yield* page;
    if (page.length < PAGE) return;
    cursor = page[page.length - 1]!.id;
  }
}

export interface MonitoringDeps {
  prisma: PrismaClient;
  index: FeedIndex;
  inactiveHours: number;
  now: () => number;
}

/** Handles `nagios/<KEY>` and `patchset/<KEY>`. */
export async function handleMonitoring(deps: MonitoringDeps, req: IncomingMessage, res: ServerResponse, kind: 'nagios' | 'patchset', keyName: string): Promise<void> {
  const key = keyName.length <= 128 ? await deps.prisma.key.findUnique({ where: { key: keyName }, select: { id: true, feedId: true } }) : null;
  if (kind === 'patchset') return patchsetJson(deps, res, key);
  if (!key) return sendText(res, 200, `Servers not found for key ${keyName.replace(/[^\x20-\x7e]/g, '?').slice(0, 128)}\n`);
  const inactiveBefore = deps.now() - deps.inactiveHours * 3_600_000;
  const counts: Record<ServerState, number> = { UPTODATE: 0, OUTOFDATE: 0, UNSUPPORTED: 0, INACTIVE: 0 };
  const problems: string[] = [];
  for await (const s of serversOfKey(deps.prisma, key.id)) {
    const state = serverState(s, key.feedId, deps.index, inactiveBefore);
    counts[state]++;
    if (state !== 'UPTODATE') problems.push(`${s.hostname || 'unknown'} (${s.ip || 'unknown'}) is ${state}`);
  }
  const perf = `uptodate=${counts.UPTODATE};outofdate=${counts.OUTOFDATE};unsupported=${counts.UNSUPPORTED};inactive=${counts.INACTIVE}`;
  const worst = (['OUTOFDATE', 'UNSUPPORTED', 'INACTIVE'] as const).find((s) => counts[s] > 0);
  const summary = worst ? `${counts[worst]} ${counts[worst] === 1 ? 'machine is' : 'machines are'} ${worst}!` : 'KernelCare OK - all servers are up to date!';
  sendText(res, 200, [`${summary}|${perf}`, ...problems].join('\n') + '\n');
}

async function patchsetJson(deps: MonitoringDeps, res: ServerResponse, key: { id: number } | null): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  if (res.req.method === 'HEAD') return void res.end();
  res.write('{"data": [');
  let first = true;
  if (key) {
    for await (const s of serversOfKey(deps.prisma, key.id)) {
      const row = JSON.stringify([s.ip, s.kernelId ?? '', s.patchLevel ?? 0]);
      if (!res.write(first ? row : `, ${row}`)) await new Promise((r) => res.once('drain', r));
      first = false;
    }
  }
  res.end(']}\n');
}
