/**
 * The webhook's `TokenSource`: its in-memory copy of one cluster's token hashes and their users,
 * built from sync pages or the state file. A review is one map lookup, one hash and `decide()`,
 * the decision the gateway makes, so both doors agree on every token.
 */
import type { AuthResult } from '../auth/identity.js';
import type { MemberRole } from '../store/store.js';
import { verifyToken, type SubjectUser, type TokenSource, type TokenSubject } from '../auth/token-decision.js';
import type { AuthnSync, SyncedToken, SyncedUser } from '../sync/protocol.js';
import { reviewResult, type ReviewResult } from './token-review.js';

interface TokenEntry {
  subject: Omit<TokenSubject, 'user'>;
  userId: string;
  synced: SyncedToken;
}

interface UserEntry {
  subject: SubjectUser;
  synced: SyncedUser;
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

export class AuthnCopy implements TokenSource {
  private tokens = new Map<string, TokenEntry>();
  private users = new Map<string, UserEntry>();
  private current: SyncCursor | undefined;

  constructor(
    /** The cluster this copy serves: every token in it is scoped here. */
    readonly clusterId: string,
    private readonly clock: () => number = Date.now,
  ) {}

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

  find(tokenId: string): TokenSubject | undefined {
    const entry = this.tokens.get(tokenId);
    if (!entry) return undefined;
    return { token: entry.subject.token, user: this.users.get(entry.userId)?.subject ?? null };
  }

  /** Decides a bearer token for this cluster (docs/reference/webhook.md). */
  decide(token: string): AuthResult {
    return verifyToken(token, this, this.clock, this.clusterId) as AuthResult;
  }

  /** The decision as a TokenReview status carries it. */
  review(token: string): ReviewResult {
    return reviewResult(this.decide(token), this.clusterId);
  }

  /** Applies a sync page; returns true when the copy changed (and should be saved). */
  apply(page: AuthnSync): boolean {
    if (page.full) {
      this.tokens = new Map();
      this.users = new Map();
    }
    for (const u of page.users) this.users.set(u.id, this.userEntry(u));
    for (const t of page.tokens) this.tokens.set(t.id, this.tokenEntry(t));
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
      users: [...this.users.values()].map((e) => e.synced),
    };
  }

  private tokenEntry(t: SyncedToken): TokenEntry {
    const expiresAt = t.expiresAt === null ? null : Date.parse(t.expiresAt);
    return { subject: { token: { id: t.id, kind: t.kind, clusterId: this.clusterId, expiresAt, secretHash: t.secretHash } }, userId: t.userId, synced: t };
  }

  private userEntry(u: SyncedUser): UserEntry {
    // Admins are synced as members holding `owner`: the gateway lets them reach every cluster.
    // A gateway older than roles sends `member` alone: the user then holds no role group here.
    const roles: readonly MemberRole[] = u.member ? Object.freeze([...(u.roles ?? [])]) : [];
    const clusterRoles = u.member ? new Map([[this.clusterId, roles]]) : new Map<string, readonly MemberRole[]>();
    const subject = { id: u.id, username: u.username, groups: u.groups, admin: false, enabled: u.enabled, clusterRoles };
    return { subject, synced: u };
  }

  // The feed never deletes users: a user leaves the copy when their last token does.
  private dropUsersWithoutTokens(): void {
    const owners = new Set<string>();
    for (const t of this.tokens.values()) owners.add(t.userId);
    for (const id of this.users.keys()) if (!owners.has(id)) this.users.delete(id);
  }
}
