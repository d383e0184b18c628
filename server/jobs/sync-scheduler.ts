// Runs the patch-source sync on EPORTAL_SYNC_CRON (every 10 minutes by
// default) with node-cron, and on demand. One run at a time in this process
// (callers share the run in progress); across processes the database lock in
// patches/source/lock.ts decides. stop() aborts a run in progress; its
// partial download stays for the next run to resume.
import cron, { type ScheduledTask } from 'node-cron';
import { ConfigError, SCHEDULE_OFF } from '../config.js';
import { SyncTracker } from '../patches/source/progress.js';
import { getSyncStatus, writeProgress, type SyncReport, type SyncStatus } from '../patches/source/status.js';
import { runSync, type SyncDeps, type SyncOptions } from '../patches/source/sync.js';


/** The portal's sync job. */
export class SyncScheduler {
  /** progress of the run in this process (for the API and events) */
  readonly tracker: SyncTracker;
  private task: ScheduledTask | null = null;
  private running: Promise<SyncReport> | null = null;
  private readonly controller = new AbortController();

  constructor(private readonly deps: Omit<SyncDeps, 'tracker'>) {
    this.tracker = new SyncTracker({ events: deps.events, persist: (p) => writeProgress(deps.prisma, p) });
  }

  /** The cron expression in force, or null when the schedule is off. */
  get schedule(): string | null {
    const expr = this.deps.config.patchSource.cron.trim();
    return SCHEDULE_OFF.includes(expr.toLowerCase()) ? null : expr;
  }

  /** Starts the schedule; a bad expression is a configuration error (the portal does not start). */
  start(): void {
    const expr = this.schedule;
    if (this.task || expr === null) {
      if (expr === null) this.deps.log.info('patch source schedule is off (EPORTAL_SYNC_CRON); sync runs only on demand');
      return;
    }
    if (!cron.validate(expr)) throw new ConfigError(`invalid configuration:\n  EPORTAL_SYNC_CRON: not a cron expression: ${JSON.stringify(expr)}`);
    const log = this.deps.log;
    this.task = cron.createTask(expr, () => this.runNow().then(() => undefined), {
      name: 'patch-source-sync',
      noOverlap: true,
      unref: true,
      logger: {
        info: (m) => log.debug({ cron: m }, 'scheduler'),
        warn: (m) => log.warn({ cron: m }, 'scheduler'),
        error: (m) => log.error({ cron: String(m) }, 'scheduler'),
        debug: (m) => log.debug({ cron: String(m) }, 'scheduler'),
      },
    });
    void this.task.start();
    log.info({ schedule: expr }, 'patch source sync scheduled');
  }

  /** Runs a sync now, or joins the one this process is already running. */
  runNow(opts: Omit<SyncOptions, 'signal'> = {}): Promise<SyncReport> {
    if (this.controller.signal.aborted) return Promise.reject(new Error('the sync scheduler is stopped'));
    this.running ??= runSync({ ...this.deps, tracker: this.tracker }, { ...opts, signal: this.controller.signal }).finally(() => (this.running = null));
    return this.running;
  }

  /** Last run, live progress and whether any process is syncing. */
  status(): Promise<SyncStatus> {
    return getSyncStatus({ prisma: this.deps.prisma, tracker: this.tracker });
  }

  /** Stops the schedule and aborts a run in progress (waits for it to wind down). */
  async stop(): Promise<void> {
    if (this.task) await this.task.destroy();
    this.task = null;
    this.controller.abort(new Error('portal stopping'));
    await this.running?.catch(() => undefined);
  }
}
