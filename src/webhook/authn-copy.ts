/**
 * The webhook's token source: its in-memory copy of one cluster's token hashes and their users,
 * built from sync pages or the state file. A review is one map lookup plus one hash, checked with
 * the same `parseToken` / `secretMatches` the gateway uses, so both doors agree on every token.
 */
import { parseToken, secretMatches } from '../auth/tokens.js';
import type { AuthnSync, SyncedToken, SyncedUser } from '../sync/protocol.js';
import { reviewUser, type ReviewResult } from './token-review.js';

interface TokenEntry {
  userId: string;
  secretHash: string;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
  synced: SyncedToken;
}

/** Where the copy stands in the gateway's change log. */
export interface SyncCursor {
  epoch: string;
  revision: number;
}

/** Everything needed to rebuild the copy (what the state file holds). */
export interface CopySnapshot extends SyncCursor {
  tokens: SyncedToken[];
  users: SyncedUser[];
}

const INVALID: ReviewResult = { authenticated: false, error: 'invalid token' };

export class AuthnCopy {
  private tokens = new Map<string, TokenEntry>();
  private users = new Map<string, SyncedUser>();
  private current: SyncCursor | undefined;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Undefined until a full copy has been loaded. */
  get cursor(): SyncCursor | undefined {
    return this.current;
  }

  get loaded(): boolean {
    return this.current !== undefined;
  }

  get size(): { tokens: number; users: number } {
    return { tokens: this.tokens.size, users: this.users.size };
  }

  /** Decides a bearer token (SPEC §8): ours, scoped here, unexpired, user enabled and a member. */
  review(token: string): ReviewResult {
    const parsed = parseToken(token);
    if (!parsed) return { authenticated: false, error: 'not a kubegate token' };
    const entry = this.tokens.get(parsed.id);
    if (!entry || !secretMatches(parsed.id, parsed.secret, entry.secretHash)) return INVALID;
    if (entry.expiresAt !== null && entry.expiresAt <= this.clock()) return { authenticated: false, error: 'token has expired' };
    const user = this.users.get(entry.userId);
    if (!user) return INVALID;
    if (!user.enabled) return { authenticated: false, error: 'user is disabled' };
    if (!user.member) return { authenticated: false, error: 'user is not a member of this cluster' };
    return { authenticated: true, user: reviewUser(user, parsed.id) };
  }

  /** Applies a sync page; returns true when the copy changed (and should be saved). */
  apply(page: AuthnSync): boolean {
    if (page.full) {
      this.tokens = new Map();
      this.users = new Map();
    }
    for (const u of page.users) this.users.set(u.id, u);
    for (const t of page.tokens) this.tokens.set(t.id, entryOf(t));
    for (const id of page.deletedTokens) this.tokens.delete(id);
    const changed = page.full || page.tokens.length > 0 || page.users.length > 0 || page.deletedTokens.length > 0;
    if (changed) this.dropUsersWithoutTokens();
    this.current = { epoch: page.epoch, revision: page.revision };
    return changed;
  }

  /** Replaces the copy with a saved one. */
  restore(snapshot: CopySnapshot): void {
    this.apply({ ...snapshot, kind: 'AuthnSync', apiVersion: 'kubegate.io/v1', clusterId: '', full: true, deletedTokens: [] });
  }

  snapshot(): CopySnapshot {
    if (!this.current) throw new Error('no copy loaded');
    return {
      ...this.current,
      tokens: [...this.tokens.values()].map((e) => e.synced),
      users: [...this.users.values()],
    };
  }

  // The feed never deletes users: a user leaves the copy when their last token does.
  private dropUsersWithoutTokens(): void {
    const owners = new Set<string>();
    for (const t of this.tokens.values()) owners.add(t.userId);
    for (const id of this.users.keys()) if (!owners.has(id)) this.users.delete(id);
  }
}

function entryOf(t: SyncedToken): TokenEntry {
  return { userId: t.userId, secretHash: t.secretHash, expiresAt: t.expiresAt === null ? null : Date.parse(t.expiresAt), synced: t };
}
