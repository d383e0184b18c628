// kc.eportal --sync: fetch new patchsets from the patch source now (then
// auto-update feeds, as the schedule does). kc.eportal --get-latest: the
// same, then deploy the newest patchsets to the default feed (or --feed F).
// Both print what they did and exit 1 when the sync failed. When the server
// (or another kc.eportal) is syncing, they wait for it, then run.
import pino from 'pino';
import type { CliModule } from '../builder.js';
import { CliError, type CliContext } from '../context.js';

const WAIT_FOR_OTHER_SYNC_MS = 15 * 60_000;

async function syncAndMaybeDeploy(ctx: CliContext, getLatest: boolean, feed: string | undefined): Promise<void> {
  // imported here so that --help and usage errors do not load Prisma and undici
  const { loadConfig } = await import('../../config.js');
  const { runSync } = await import('../../patches/source/sync.js');
  const { SyncTracker } = await import('../../patches/source/progress.js');
  const { writeProgress } = await import('../../patches/source/status.js');
  const { ProgressPrinter, formatReport } = await import('../../patches/source/cli-progress.js');
  const { deployLatest } = await import('../../patches/source/get-latest.js');
  const config = loadConfig(ctx.io.env);
  await ctx.withDatabase(async ({ prisma }) => {
    const printer = new ProgressPrinter(ctx.io.stdout, (ctx.io.stdout as { isTTY?: boolean }).isTTY === true);
    const tracker = new SyncTracker({ onEvent: (e) => printer.on(e), persist: (p) => writeProgress(prisma, p) });
    // the report is the CLI's output; JSON log lines would only repeat it
    const log = pino({ level: 'silent' });
    const report = await runSync({ prisma, dataDir: config.dataDir, config, log, now: Date.now, tracker }, { waitForLockMs: WAIT_FOR_OTHER_SYNC_MS });
    const lines = formatReport(report);
    const failed = report.result === 'failed' || report.result === 'skipped';
    // on failure the last line would repeat the error that goes to stderr
    for (const line of failed ? lines.slice(0, -1) : lines) ctx.out(line);
    if (failed) throw new CliError(report.error ?? `sync ${report.result}`);
    if (getLatest) {
      const r = await deployLatest(prisma, feed);
      if (r.deployed.length) ctx.out(`deployed to feed '${r.feed}': ${r.deployed.join(', ')}`);
      else if (r.newest.length) ctx.out(`feed '${r.feed}' already has the newest: ${r.newest.map((n) => n.name).join(', ')}`);
      else ctx.out(`no patchset can be deployed to feed '${r.feed}'`);
    }
    if (report.result === 'partial') throw new CliError('some patchsets could not be synced (see above)');
  });
}

/** `--sync` and `--get-latest [--feed NAME]` */
export const syncCommand: CliModule = {
  register(cli) {
    const feed = cli.modifier('--feed <name>', 'the feed for --get-latest/--unroll (default: the default feed)');
    cli.action('--sync', 'download new patchsets from the patch source now (and auto-update feeds)', {
      run: (ctx) => syncAndMaybeDeploy(ctx, false, undefined),
    });
    cli.action('--get-latest', 'download new patchsets, then deploy the newest to the default feed (or --feed)', {
      uses: [feed],
      run: (ctx, _value, options) => syncAndMaybeDeploy(ctx, true, options[feed] as string | undefined),
    });
  },
};
