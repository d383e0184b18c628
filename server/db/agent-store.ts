// The agent hot path's view of the database. Each dialect implements it with
// raw prepared statements: these run per agent request, thousands per second.

/** What a check-in records about a server (fields the agent did not send stay as they were). */
export interface CheckinRecord {
  serverRowId: number;
  at: number;
  ip: string;
  hostname: string | null;
  kernelId: string;
  effectiveKernel: string | null;
  release: string | null;
  machine: string | null;
  distro: string | null;
  distroVersion: string | null;
  agentVersion: string | null;
  /** false when the payload was missing or malformed: then patch level is left as it was */
  hasPayload: boolean;
  /** the loaded level; null = no patch loaded */
  patchLevel: number | null;
  patchType: string | null;
  uptime: number | null;
  virt: string | null;
  /** whether anything but the time and uptime differs from the stored row (else a narrow UPDATE does) */
  changed: boolean;
}

/** The stored columns a check-in may change, read with the server at authentication. */
export interface ServerSnapshot {
  ip: string;
  hostname: string;
  kernelId: string | null;
  effectiveKernel: string | null;
  release: string | null;
  machine: string | null;
  distro: string | null;
  distroVersion: string | null;
  agentVersion: string | null;
  patchLevel: number | null;
  patchType: string | null;
  virt: string | null;
}

/** What a batch of check-ins changed, for the live counters. */
export interface CheckinBatchResult {
  /** servers that had never checked in */
  firstOfServers: number;
  /** servers whose previous check-in was absent or older than the activity window */
  newlyActive: number;
}

export interface AgentServer {
  rowId: number;
  keyId: number | null;
  feedId: number;
  /** the stored columns a check-in compares against; only read when asked for */
  snapshot: ServerSnapshot | null;
}

export type RegisterResult = { code: 0; rowId: number } | { code: 2 } | { code: 3 };

export interface RegisterInput {
  key: string;
  hostname: string;
  ip: string;
  idHash: string;
  idHint: string;
  at: number;
}

export interface AgentStore {
  /** The server a hashed server id belongs to, with the feed its key is bound to (and its stored columns for a check-in). */
  findServer(idHash: string, withSnapshot?: boolean): AgentServer | null;
  /** Registers a server under a key, holding the key's server limit exactly. */
  register(input: RegisterInput): RegisterResult;
  /** Removes a server; false when the id is unknown. */
  unregister(idHash: string): boolean;
  /** Replaces a server's tags; false when the id is unknown. */
  setTags(idHash: string, tags: { name: string; value: string | null }[]): boolean;
  keyExists(key: string): boolean;
  defaultFeedId(): number;
  /**
   * Writes a batch of check-ins in one transaction. With `activeWindowMs`, also
   * reports how many servers checked in for the first time or after more than
   * that long (the live "checked in within 48 h" counter adds them).
   */
  applyCheckins(batch: CheckinRecord[], activeWindowMs?: number): CheckinBatchResult | void;
  close(): void;
}
