/**
 * Revocation events: what must drop cached verdicts (or cluster routes) at once (docs/reference/tokens.md). The management API
 * publishes after each change; every verdict cache subscribes. This in-process bus serves one
 * replica (SQLite); a PostgreSQL LISTEN/NOTIFY bus with the same interface serves many.
 * Payloads carry ids only, never secrets.
 */
export type Revocation =
  | { type: 'token'; tokenId: string }
  | { type: 'user'; userId: string }
  /** A membership changed: every user holding this principal (`user:x`, `group:y`). */
  | { type: 'principal'; principal: string }
  /** A cluster was registered, changed or deleted: every replica reloads its route. */
  | { type: 'cluster'; clusterId: string }
  /** Anything may have changed (cluster deleted, events possibly missed). */
  | { type: 'all' };

export interface RevocationBus {
  publish(event: Revocation): Promise<void>;
  subscribe(listener: (event: Revocation) => void): () => void;
}

/** Delivers events synchronously to listeners in this process. */
export class LocalRevocationBus implements RevocationBus {
  private readonly listeners = new Set<(event: Revocation) => void>();

  async publish(event: Revocation): Promise<void> {
    for (const l of this.listeners) l(event);
  }

  subscribe(listener: (event: Revocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
