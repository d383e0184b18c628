// `<dataDir>/server.pid` marks a running portal, so that tools that must not
// run under it (restoring a backup) can refuse.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const FILE = 'server.pid';

/** Records this process as the data directory's server. */
export function writePidFile(dataDir: string): void {
  writeFileSync(path.join(dataDir, FILE), `${process.pid}\n`);
}

/** Removes the record if it is ours. */
export function removePidFile(dataDir: string): void {
  if (runningServerPid(dataDir) === process.pid) rmSync(path.join(dataDir, FILE), { force: true });
}

/** The pid of a live portal on this data directory, or null. */
export function runningServerPid(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dataDir, FILE), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
