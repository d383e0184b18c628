// Server activity for the console, coalesced: whatever the check-in rate,
// each subscriber gets at most one summary per interval (counts added up while
// it was busy).
import type { PortalEvents, PortalEventMap } from '../../events.js';
import { Broadcaster, type LiveChannel } from './channel.js';

/** What happened to servers in a span of time. */
export interface ServerActivity {
  checkins: number;
  /** servers that checked in for the first time */
  firstCheckins: number;
  /** servers back in the 48-hour window (or new to it) */
  newlyActive: number;
  registered: number;
  unregistered: number;
  /** ids of servers registered in the span (at most 100) */
  registeredServerIds: number[];
  since: Date;
  until: Date;
}

const MAX_IDS = 100;

function empty(now: number): ServerActivity {
  return { checkins: 0, firstCheckins: 0, newlyActive: 0, registered: 0, unregistered: 0, registeredServerIds: [], since: new Date(now), until: new Date(now) };
}

/** Adds two summaries (the earlier first). */
export function mergeActivity(a: ServerActivity, b: ServerActivity): ServerActivity {
  return {
    checkins: a.checkins + b.checkins,
    firstCheckins: a.firstCheckins + b.firstCheckins,
    newlyActive: a.newlyActive + b.newlyActive,
    registered: a.registered + b.registered,
    unregistered: a.unregistered + b.unregistered,
    registeredServerIds: [...a.registeredServerIds, ...b.registeredServerIds].slice(-MAX_IDS),
    since: a.since,
    until: b.until,
  };
}

/** Sums agent events and publishes a summary every interval that had any. */
export class ActivityFeed {
  private acc: ServerActivity;
  private timer: NodeJS.Timeout | null = null;
  private readonly subscribers = new Broadcaster<ServerActivity>(mergeActivity);

  constructor(private readonly deps: { events: PortalEvents; now: () => number }, private readonly intervalMs = 500) {
    this.acc = empty(deps.now());
  }

  /** Starts listening. */
  start(): void {
    this.deps.events.on('checkins', this.onCheckins);
    this.deps.events.on('serverRegistered', this.onRegistered);
    this.deps.events.on('serverUnregistered', this.onUnregistered);
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops listening and ends every subscription. */
  stop(): void {
    this.deps.events.off('checkins', this.onCheckins);
    this.deps.events.off('serverRegistered', this.onRegistered);
    this.deps.events.off('serverUnregistered', this.onUnregistered);
    if (this.timer) clearInterval(this.timer);
    this.subscribers.closeAll();
  }

  /** A subscriber's stream of summaries. */
  subscribe(): LiveChannel<ServerActivity> {
    return this.subscribers.subscribe();
  }

  private flush(): void {
    const now = this.deps.now();
    const a = this.acc;
    this.acc = empty(now);
    if (a.checkins + a.registered + a.unregistered === 0 || this.subscribers.size === 0) return;
    this.subscribers.publish({ ...a, until: new Date(now) });
  }

  private readonly onCheckins = (e: PortalEventMap['checkins'][0]) => {
    this.acc.checkins += e.count;
    this.acc.firstCheckins += e.firstOfServers;
    this.acc.newlyActive += e.newlyActive ?? 0;
  };

  private readonly onRegistered = (e: PortalEventMap['serverRegistered'][0]) => {
    this.acc.registered++;
    if (this.acc.registeredServerIds.length < MAX_IDS) this.acc.registeredServerIds.push(e.rowId);
  };

  private readonly onUnregistered = (e: PortalEventMap['serverUnregistered'][0]) => {
    this.acc.unregistered += e.count;
  };
}
