// Deploy and sync progress for the console: deployments as a list of changes
// (merged while a subscriber is busy), the sync as its current state (the
// newest wins), published at most every intervalMs.
import type { PortalEvents, PortalEventMap } from '../../events.js';
import type { PatchSyncEvent, PatchsetProgress } from '../../patches/source/progress.js';
import { Broadcaster, type LiveChannel } from './channel.js';

/** One change to a feed's deployed patchsets. */
export interface DeploymentChange {
  feedId: number | null;
  action: string;
  patchsets: string[];
  by: string;
  at: Date;
}

/** Changes since the subscriber last heard (at most 100). */
export interface DeploymentChanges {
  changes: DeploymentChange[];
}

/** Where the patch-source sync of this process is. */
export interface SyncProgressState {
  running: boolean;
  startedAt: string | null;
  phase: string | null;
  bytesDownloaded: number;
  patchsets: PatchsetProgress[];
  lastResult: string | null;
  lastError: string | null;
  finishedAt: string | null;
}

const IDLE: SyncProgressState = { running: false, startedAt: null, phase: null, bytesDownloaded: 0, patchsets: [], lastResult: null, lastError: null, finishedAt: null };

/** Applies one sync event to the state. */
export function applySyncEvent(s: SyncProgressState, e: PatchSyncEvent): SyncProgressState {
  switch (e.type) {
    case 'started':
      return { ...IDLE, running: true, startedAt: e.startedAt, phase: 'index', lastResult: s.lastResult, lastError: s.lastError, finishedAt: s.finishedAt };
    case 'phase':
      return { ...s, phase: e.phase };
    case 'patchset': {
      const others = s.patchsets.filter((p) => p.name !== e.patchset.name);
      const at = s.patchsets.findIndex((p) => p.name === e.patchset.name);
      const patchsets = at < 0 ? [...others, e.patchset] : s.patchsets.map((p) => (p.name === e.patchset.name ? e.patchset : p));
      return { ...s, patchsets, bytesDownloaded: e.bytesDownloaded };
    }
    case 'finished':
      return {
        ...s,
        running: false,
        phase: null,
        bytesDownloaded: e.report.bytesDownloaded,
        patchsets: e.report.patchsets,
        lastResult: e.report.result,
        lastError: e.report.error,
        finishedAt: e.report.finishedAt,
      };
  }
}

/** Listens to deploy and sync events and feeds their subscribers. */
export class PatchFeeds {
  private readonly deploys = new Broadcaster<DeploymentChanges>((a, b) => ({ changes: [...a.changes, ...b.changes].slice(-100) }));
  private readonly syncs = new Broadcaster<SyncProgressState>();
  private sync: SyncProgressState = IDLE;
  private syncTimer: NodeJS.Timeout | null = null;
  private lastSyncPublish = 0;

  constructor(private readonly deps: { events: PortalEvents; now: () => number }, private readonly intervalMs = 250) {}

  /** Starts listening. */
  start(): void {
    this.deps.events.on('deploymentsChanged', this.onDeploy);
    this.deps.events.on('patchSync', this.onSync);
  }

  /** Stops listening and ends every subscription. */
  stop(): void {
    this.deps.events.off('deploymentsChanged', this.onDeploy);
    this.deps.events.off('patchSync', this.onSync);
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.deploys.closeAll();
    this.syncs.closeAll();
  }

  /** The sync state this process has seen. */
  get syncState(): SyncProgressState {
    return this.sync;
  }

  /** A subscriber's stream of deployment changes. */
  subscribeDeployments(): LiveChannel<DeploymentChanges> {
    return this.deploys.subscribe();
  }

  /** A subscriber's stream of sync states, starting with the current one. */
  subscribeSync(): LiveChannel<SyncProgressState> {
    return this.syncs.subscribe(this.sync);
  }

  private readonly onDeploy = (e: PortalEventMap['deploymentsChanged'][0]) => {
    this.deploys.publish({ changes: [{ feedId: e.feedId, action: e.action ?? 'deploy', patchsets: e.patchsets ?? [], by: e.by ?? '', at: new Date(this.deps.now()) }] });
  };

  private readonly onSync = (e: PatchSyncEvent) => {
    this.sync = applySyncEvent(this.sync, e);
    // state changes (start, finish, a patchset's state) go out at once; byte counts are throttled
    const urgent = e.type !== 'patchset' || e.patchset.state !== 'downloading';
    if (this.syncTimer && !urgent) return;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    const delay = urgent ? 0 : Math.max(0, this.lastSyncPublish + this.intervalMs - Date.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.lastSyncPublish = Date.now();
      this.syncs.publish(this.sync);
    }, delay);
    this.syncTimer.unref();
  };
}
