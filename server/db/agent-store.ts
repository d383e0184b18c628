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
}

export interface AgentServer {
  rowId: number;
  keyId: number | null;
  feedId: number;
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
  /** The server a hashed server id belongs to, with the feed its key is bound to. */
  findServer(idHash: string): AgentServer | null;
  /** Registers a server under a key, holding the key's server limit exactly. */
  register(input: RegisterInput): RegisterResult;
  /** Removes a server; false when the id is unknown. */
  unregister(idHash: string): boolean;
  /** Replaces a server's tags; false when the id is unknown. */
  setTags(idHash: string, tags: { name: string; value: string | null }[]): boolean;
  keyExists(key: string): boolean;
  defaultFeedId(): number;
  /** Writes a batch of check-ins in one transaction. */
  applyCheckins(batch: CheckinRecord[]): void;
  close(): void;
}
