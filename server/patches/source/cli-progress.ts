// What `kc.eportal --sync/--get-latest` prints while and after it syncs: a
// redrawn progress bar per download on a terminal, plain lines otherwise
// (logs, pipes, cron mail), and a summary of the report.
import type { PatchSyncEvent } from './progress.js';
import type { SyncReport } from './status.js';

const BAR = 24;

/** Renders sync events to a stream. */
export class ProgressPrinter {
  private barShown = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly tty: boolean,
  ) {}

  /** Handles one tracker event. */
  on(e: PatchSyncEvent): void {
    if (e.type === 'phase' && e.phase === 'index') this.line('reading the upstream index');
    if (e.type !== 'patchset') return;
    const p = e.patchset;
    if (p.state === 'downloading') {
      if (this.tty) {
        const frac = p.size ? Math.min(1, p.received / p.size) : 0;
        const filled = Math.round(frac * BAR);
        this.out.write(`\r\x1b[K${p.name} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${humanBytes(p.received)}/${humanBytes(p.size)}`);
        this.barShown = true;
      } else if (p.received === 0) {
        this.line(`downloading ${p.name} (${humanBytes(p.size)})`);
      }
    } else if (p.state === 'importing') {
      this.line(`importing ${p.name}`);
    } else if (p.state === 'imported') {
      this.line(`imported ${p.name}`);
    } else if (p.state === 'failed') {
      this.line(`failed ${p.name}: ${p.error ?? 'unknown error'}`);
    }
  }

  private line(text: string): void {
    if (this.barShown) this.out.write('\r\x1b[K');
    this.barShown = false;
    this.out.write(`${text}\n`);
  }
}

/** The report as lines for a person (the last line says how it went). */
export function formatReport(r: SyncReport): string[] {
  const lines: string[] = [];
  if (r.upstreamPatchsets !== null) lines.push(`upstream lists ${r.upstreamPatchsets} patchset(s)`);
  for (const b of r.badEntries) lines.push(`bad index entry #${b.index}${b.name ? ` (${b.name})` : ''}: ${b.error}`);
  for (const f of r.failed) lines.push(`not imported: ${f.name}: ${f.error}`);
  for (const c of r.changedUpstream) lines.push(`upstream changed ${c.name}: ${c.blocked ? 'blocked' : 'not blocked'}, channels ${c.channels.join(',')}`);
  if (r.removedUpstream.length) lines.push(`removed upstream, kept here: ${r.removedUpstream.join(', ')}`);
  for (const b of r.blockedButDeployed) lines.push(`blocked upstream but deployed in ${b.feeds.join(', ')}: ${b.name} (roll it back)`);
  for (const a of r.autoDeployed) lines.push(`auto-update: feed '${a.feed}' deployed ${a.patchsets.join(', ')}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  const what = r.imported.length ? `${r.imported.length} imported (${r.imported.join(', ')})` : 'nothing new';
  const tail = `${humanBytes(r.bytesDownloaded)} downloaded in ${(r.durationMs / 1000).toFixed(1)} s`;
  lines.push(r.result === 'ok' || r.result === 'partial' ? `sync ${r.result}: ${what}, ${tail}` : `sync ${r.result}: ${r.error ?? 'unknown error'}`);
  return lines;
}

/** A byte count for people: B, KiB, MiB or GiB. */
export function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = bytes / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v.toFixed(1)} ${units[i]}`;
}
