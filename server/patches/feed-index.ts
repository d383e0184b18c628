// In-memory answer to "which level of kernel K does feed F serve, and from
// which patchset folder". Built from the database and rebuilt whenever the
// index generation changes (any process that deploys, rolls back or imports
// bumps it), so agent requests never query patch metadata.
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../log.js';

export interface KernelEntry {
  level: number;
  patchsetId: number;
  storeDir: string;
  patchTypes: readonly string[];
}

export interface LibcareEntry {
  patchsetId: number;
  storeDir: string;
  path: string;
}

export const INDEX_GENERATION = 'patch_index_generation';

/** Marks the patch index stale for every process (call inside the changing transaction). */
export async function bumpIndexGeneration(tx: Pick<PrismaClient, 'setting'>): Promise<void> {
  const value = String(Date.now()) + Math.random().toString(36).slice(2, 8);
  await tx.setting.upsert({ where: { name: INDEX_GENERATION }, create: { name: INDEX_GENERATION, value }, update: { value } });
}

/** Deployed levels per feed and kernel, held in memory. */
export class FeedIndex {
  private kernels = new Map<string, KernelEntry[]>();
  private libcare = new Map<string, LibcareEntry[]>();
  private deployed = new Map<number, Set<number>>();
  private generation: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;

  constructor(private readonly prisma: PrismaClient, private readonly log: Logger) {}

  /** Highest deployed level of `khash` in the feed; 0 when the kernel is known but nothing is deployed; undefined when unknown. */
  latest(feedId: number, khash: string): { level: number; entry: KernelEntry | null } | undefined {
    const entries = this.kernels.get(khash);
    if (!entries) return undefined;
    const deployed = this.deployed.get(feedId);
    let best: KernelEntry | null = null;
    if (deployed) for (const e of entries) if (deployed.has(e.patchsetId) && (!best || e.level > best.level)) best = e;
    return { level: best?.level ?? 0, entry: best };
  }

  /** The deployed patchset carrying `level` of `khash` in the feed, if any. */
  entryForLevel(feedId: number, khash: string, level: number): KernelEntry | undefined {
    const deployed = this.deployed.get(feedId);
    if (!deployed) return undefined;
    return this.kernels.get(khash)?.find((e) => e.level === level && deployed.has(e.patchsetId));
  }

  /** The newest deployed LibCare bundle for a build id in the feed. */
  libcareBundle(feedId: number, lib: string, buildId: string): LibcareEntry | undefined {
    const deployed = this.deployed.get(feedId);
    if (!deployed) return undefined;
    const list = this.libcare.get(`${lib}/${buildId}`) ?? this.libcare.get(`/${buildId}`);
    let found: LibcareEntry | undefined;
    for (const e of list ?? []) if (deployed.has(e.patchsetId)) found = e; // list is in patchset order
    return found;
  }

  /** Whether any patchset in the store carries this kernel. */
  knowsKernel(khash: string): boolean {
    return this.kernels.has(khash);
  }

  /** Rebuilds from the database now (coalescing concurrent calls). */
  async reload(): Promise<void> {
    this.reloading ??= this.load().finally(() => (this.reloading = null));
    return this.reloading;
  }

  private async load(): Promise<void> {
    const gen = await this.prisma.setting.findUnique({ where: { name: INDEX_GENERATION } });
    const [sets, deployments] = await Promise.all([
      this.prisma.patchset.findMany({ select: { id: true, storeDir: true }, orderBy: [{ releasedAt: 'asc' }, { name: 'asc' }] }),
      this.prisma.deployment.findMany({ select: { feedId: true, patchsetId: true } }),
    ]);
    // Kernel rows only change when patchsets are imported or removed; a deploy
    // or rollback (the common case) only needs the deployments re-read.
    const signature = sets.map((p) => p.id).join(',');
    if (signature !== this.setSignature) await this.loadKernels(sets);
    this.setSignature = signature;
    const dep = new Map<number, Set<number>>();
    for (const row of deployments) {
      let s = dep.get(row.feedId);
      if (!s) dep.set(row.feedId, (s = new Set()));
      s.add(row.patchsetId);
    }
    this.deployed = dep;
    this.generation = gen?.value ?? '';
  }

  private setSignature: string | null = null;

  private async loadKernels(sets: { id: number; storeDir: string }[]): Promise<void> {
    const [kernels, libs] = await Promise.all([
      this.prisma.patchsetKernel.findMany({ select: { patchsetId: true, kernelId: true, level: true, patchTypes: true } }),
      this.prisma.patchsetLibcare.findMany({ select: { patchsetId: true, lib: true, buildId: true, path: true } }),
    ]);
    const dirs = new Map(sets.map((s, i) => [s.id, { dir: s.storeDir, order: i }]));
    const k = new Map<string, KernelEntry[]>();
    for (const row of kernels) {
      const d = dirs.get(row.patchsetId);
      if (!d) continue;
      let list = k.get(row.kernelId);
      if (!list) k.set(row.kernelId, (list = []));
      list.push({ level: row.level, patchsetId: row.patchsetId, storeDir: d.dir, patchTypes: row.patchTypes.split(',') });
    }
    const l = new Map<string, LibcareEntry[]>();
    for (const row of libs.sort((a, b) => (dirs.get(a.patchsetId)?.order ?? 0) - (dirs.get(b.patchsetId)?.order ?? 0))) {
      const d = dirs.get(row.patchsetId);
      if (!d) continue;
      const key = `${row.lib}/${row.buildId}`;
      let list = l.get(key);
      if (!list) l.set(key, (list = []));
      list.push({ patchsetId: row.patchsetId, storeDir: d.dir, path: row.path });
    }
    this.kernels = k;
    this.libcare = l;
  }

  /** Polls the generation every `intervalMs` and reloads when another process changed patches. */
  watch(intervalMs = 1000): void {
    this.timer ??= setInterval(() => {
      this.prisma.setting
        .findUnique({ where: { name: INDEX_GENERATION } })
        .then((g) => ((g?.value ?? '') !== this.generation ? this.reload() : undefined))
        .catch((err: unknown) => this.log.error({ err }, 'patch index refresh failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
