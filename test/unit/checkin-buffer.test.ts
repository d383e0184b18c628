// The check-in buffer: coalescing, sliced flushes that yield, and order kept
// when a synchronous flush overtakes a sliced one.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CheckinBuffer } from '../../server/agent/checkin-buffer.js';
import { checkinChanges } from '../../server/agent/patch-server.js';
import type { AgentStore, CheckinRecord, ServerSnapshot } from '../../server/db/agent-store.js';
import { PortalEvents } from '../../server/events.js';

const rec = (serverRowId: number, at: number, extra: Partial<CheckinRecord> = {}): CheckinRecord => ({
  serverRowId, at, ip: '10.0.0.1', kernelId: 'a'.repeat(40), hostname: 'h', effectiveKernel: null, release: null, machine: null, distro: null,
  distroVersion: null, agentVersion: null, hasPayload: true, patchLevel: 1, patchType: 'default', uptime: 5, virt: null, changed: false, ...extra,
});

function fakeStore() {
  const rows = new Map<number, CheckinRecord>();
  const transactions: number[] = [];
  const store = { applyCheckins: (batch: CheckinRecord[]) => { transactions.push(batch.length); for (const r of batch) rows.set(r.serverRowId, r); return { firstOfServers: 0, newlyActive: 0 }; } } as unknown as AgentStore;
  return { store, rows, transactions };
}

describe('CheckinBuffer', () => {
  it('writes a big batch in slices and yields between them', async () => {
    const { store, rows, transactions } = fakeStore();
    const buf = new CheckinBuffer(store, new PortalEvents(), pino({ level: 'silent' }), 1000);
    for (let i = 0; i < 1234; i++) buf.add(rec(i, 1));
    let seenMidway = -1;
    setImmediate(() => (seenMidway = rows.size)); // runs between the slices
    await buf.flushInSlices(500);
    expect(seenMidway).toBe(500);
    expect(transactions).toEqual([500, 500, 234]);
    expect(rows.size).toBe(1234);
    expect(buf.size).toBe(0);
  });

  it('a synchronous flush during a sliced one keeps the newest record per server', async () => {
    const { store, rows } = fakeStore();
    const buf = new CheckinBuffer(store, new PortalEvents(), pino({ level: 'silent' }), 1000);
    for (let i = 0; i < 1500; i++) buf.add(rec(i, 1));
    const slicing = buf.flushInSlices(500); // writes the first slice, then yields
    buf.add(rec(1400, 2, { hostname: 'newer', changed: true }));
    buf.flush();
    await slicing;
    expect(rows.get(1400)).toMatchObject({ at: 2, hostname: 'newer' });
    expect(rows.size).toBe(1500);
  });

  it('keeps a pending change when a later check-in changes nothing', () => {
    const { store, rows } = fakeStore();
    const buf = new CheckinBuffer(store, new PortalEvents(), pino({ level: 'silent' }), 1000);
    buf.add(rec(7, 1, { hostname: 'renamed', changed: true }));
    buf.add(rec(7, 2, { hostname: 'renamed', changed: false }));
    buf.flush();
    expect(rows.get(7)).toMatchObject({ at: 2, changed: true });
  });
});

describe('checkinChanges', () => {
  const was: ServerSnapshot = { ip: '10.0.0.1', hostname: 'h', kernelId: 'a'.repeat(40), effectiveKernel: null, release: null, machine: null, distro: null, distroVersion: null, agentVersion: null, patchLevel: 1, patchType: 'default', virt: null };
  it('is false when only time and uptime differ, true for any stored column', () => {
    expect(checkinChanges(rec(1, 9, { uptime: 999 }), was)).toBe(false);
    expect(checkinChanges(rec(1, 9, { ip: '10.0.0.2' }), was)).toBe(true);
    expect(checkinChanges(rec(1, 9, { patchLevel: 2 }), was)).toBe(true);
    expect(checkinChanges(rec(1, 9, { hostname: 'x' }), was)).toBe(true);
    expect(checkinChanges(rec(1, 9, { virt: 'kvm' }), was)).toBe(true);
    // a payload-less check-in keeps the stored level: no change from that
    expect(checkinChanges(rec(1, 9, { hasPayload: false, patchLevel: null, hostname: null }), was)).toBe(false);
  });
});
