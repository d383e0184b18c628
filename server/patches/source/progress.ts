// Live progress of the running sync, per patchset: kept in memory for the
// API of this process, pushed as `patchSync` events (console, CLI progress
// bar), and written to a Setting row every few seconds so another process
// (the server while `kc.eportal --sync` runs) can show it too.
import type { PortalEvents } from '../../events.js';
import type { SyncReport } from './status.js';

/** Where one patchset of the run is. */
export type PatchsetState = 'queued' | 'downloading' | 'importing' | 'imported' | 'failed';

/** Progress of one patchset in a run. */
export interface PatchsetProgress {
  name: string;
  product: string;
  size: number;
  received: number;
  state: PatchsetState;
  error: string | null;
  errorCode: string | null;
}

/** The run in progress. */
export interface LiveProgress {
  startedAt: string;
  phase: 'index' | 'download' | 'auto-update';
  bytesDownloaded: number;
  patchsets: PatchsetProgress[];
}

/** What `patchSync` events carry. */
export type PatchSyncEvent =
  | { type: 'started'; startedAt: string }
  | { type: 'phase'; phase: LiveProgress['phase'] }
  | { type: 'patchset'; patchset: PatchsetProgress; bytesDownloaded: number }
  | { type: 'finished'; report: SyncReport };

/** Collects a run's progress and tells listeners (throttled for byte counts). */
export class SyncTracker {
  private live: LiveProgress | null = null;
  private lastEmit = new Map<string, number>();
  private lastPersist = 0;

  constructor(
    private readonly opts: {
      events?: PortalEvents;
      onEvent?: (e: PatchSyncEvent) => void;
      /** stores a snapshot for other processes; errors are ignored */
      persist?: (p: LiveProgress | null) => Promise<void>;
      throttleMs?: number;
      persistEveryMs?: number;
    } = {},
  ) {}

  /** The run in progress in this process, if any (a copy). */
  get current(): LiveProgress | null {
    return this.live ? { ...this.live, patchsets: this.live.patchsets.map((p) => ({ ...p })) } : null;
  }

  /** A run starts. */
  begin(startedAt: string): void {
    this.live = { startedAt, phase: 'index', bytesDownloaded: 0, patchsets: [] };
    this.lastEmit.clear();
    this.emit({ type: 'started', startedAt });
    this.save(true);
  }

  /** The run moves to another phase. */
  phase(phase: LiveProgress['phase']): void {
    if (!this.live) return;
    this.live.phase = phase;
    this.emit({ type: 'phase', phase });
    this.save(true);
  }

  /** Lists the patchsets the run will fetch. */
  queue(items: { name: string; product: string; size: number }[]): void {
    if (!this.live) return;
    this.live.patchsets = items.map((i) => ({ ...i, received: 0, state: 'queued', error: null, errorCode: null }));
    this.save(true);
  }

  /** A patchset changes state (always reported). */
  update(name: string, patch: Partial<Omit<PatchsetProgress, 'name'>>): void {
    const p = this.find(name);
    if (!p) return;
    Object.assign(p, patch);
    this.emit({ type: 'patchset', patchset: { ...p }, bytesDownloaded: this.live!.bytesDownloaded });
    this.save(true);
  }

  /** Bytes arrived for a patchset (reported at most every throttleMs). */
  bytes(name: string, received: number, delta: number): void {
    const p = this.find(name);
    if (!p) return;
    p.received = received;
    this.live!.bytesDownloaded += delta;
    const now = Date.now();
    if (now - (this.lastEmit.get(name) ?? 0) < (this.opts.throttleMs ?? 200) && received < p.size) return;
    this.lastEmit.set(name, now);
    this.emit({ type: 'patchset', patchset: { ...p }, bytesDownloaded: this.live!.bytesDownloaded });
    this.save(false);
  }

  /** The run is over. */
  end(report: SyncReport): void {
    this.live = null;
    this.emit({ type: 'finished', report });
    void this.opts.persist?.(null).catch(() => undefined);
  }

  private find(name: string): PatchsetProgress | undefined {
    return this.live?.patchsets.find((p) => p.name === name);
  }

  private emit(e: PatchSyncEvent): void {
    this.opts.onEvent?.(e);
    this.opts.events?.emit('patchSync', e);
  }

  private save(force: boolean): void {
    const now = Date.now();
    if (!this.opts.persist || (!force && now - this.lastPersist < (this.opts.persistEveryMs ?? 2000))) return;
    this.lastPersist = now;
    void this.opts.persist(this.current).catch(() => undefined);
  }
}
