/**
 * The one decision about a kubegate token, made the same way on both doors: the gateway decides
 * from its store (`StoreTokenSource`), the webhook from its synced copy (`AuthnCopy`); both are
 * a `TokenSource`. A refusal carries a typed reason; the doors map reasons to their own answers
 * (401/403 on the gateway, a TokenReview `status.error` on the webhook), never by message text.
 */
import type { MemberRole } from '../store/store.js';
import type { AuthResult, Identity, TokenInfo } from './identity.js';
import { parseToken, secretMatches, type ParsedToken } from './tokens.js';

/** Why a token was refused. */
export type TokenFailure =
  /** Not shaped like a kubegate token at all. */
  | 'malformed'
  /** No such token (revoked, expired and swept, or never issued), or the secret does not match. */
  | 'unknown'
  | 'expired'
  /** Its owner is gone, or an agent token names no cluster. */
  | 'no-owner'
  | 'user-disabled'
  /** Agent tokens only feed their cluster's webhook; they never reach a cluster. */
  | 'agent-token'
  /** Scoped to another cluster. */
  | 'wrong-cluster'
  /** The user may not reach the cluster (neither a member, nor an admin). */
  | 'not-member';

/** What a source holds about one token: everything the decision needs. */
export interface TokenSubject {
  token: TokenInfo & { secretHash: string };
  /** The owner; null for agent tokens. */
  user: SubjectUser | null;
}

export interface SubjectUser {
  id: string;
  username: string;
  groups: readonly string[];
  admin: boolean;
  enabled: boolean;
  /** Roles per cluster the user may reach, from direct and group memberships. */
  clusterRoles: ReadonlyMap<string, readonly MemberRole[]>;
}

/** Where tokens are looked up: the store (asynchronous) or the webhook's copy (in memory, synchronous). */
export interface TokenSource {
  find(tokenId: string): TokenSubject | undefined | Promise<TokenSubject | undefined>;
}

// One frozen answer per reason: refusals allocate nothing, and the verdict cache may share them.
const REFUSED = {} as Record<TokenFailure, AuthResult>;
for (const reason of ['malformed', 'unknown', 'expired', 'no-owner', 'user-disabled', 'agent-token', 'wrong-cluster', 'not-member'] as const) {
  REFUSED[reason] = Object.freeze({ authenticated: false, reason });
}

/** The refusal for `reason`. */
export function refused(reason: TokenFailure): AuthResult {
  return REFUSED[reason];
}

/**
 * Decides a presented token against what its source holds, at `now` (epoch ms); with a
 * `clusterId`, also whether it may be used for that cluster (`admit`).
 */
export function decide(presented: ParsedToken, subject: TokenSubject | undefined, now: number, clusterId?: string): AuthResult {
  if (!subject || !secretMatches(presented.id, presented.secret, subject.token.secretHash)) return REFUSED.unknown;
  return judge(subject, now, clusterId);
}

/**
 * The decision for a token whose secret already matched (once, when it was presented): what
 * the source holds about it now. Open streams are judged again with it after a revocation.
 */
export function judge(subject: TokenSubject | undefined, now: number, clusterId?: string): AuthResult {
  if (!subject) return REFUSED.unknown;
  const { token: t, user } = subject;
  if (t.expiresAt !== null && t.expiresAt <= now) return REFUSED.expired;
  const token: TokenInfo = { id: t.id, kind: t.kind, clusterId: t.clusterId, expiresAt: t.expiresAt };
  let identity: Identity;
  if (t.kind === 'agent') {
    if (t.clusterId === null) return REFUSED['no-owner'];
    identity = { kind: 'agent', clusterId: t.clusterId, token };
  } else {
    if (!user) return REFUSED['no-owner'];
    if (!user.enabled) return REFUSED['user-disabled'];
    identity = { kind: 'user', userId: user.id, username: user.username, groups: user.groups, admin: user.admin, token, clusterRoles: user.clusterRoles };
  }
  if (clusterId !== undefined) {
    const refusal = admit(identity, clusterId);
    if (refusal) return REFUSED[refusal];
  }
  return { authenticated: true, identity };
}

/** Whether an authenticated identity may be used for `clusterId`; the reason when not. */
export function admit(identity: Identity, clusterId: string): 'agent-token' | 'wrong-cluster' | 'not-member' | undefined {
  if (identity.kind === 'agent') return 'agent-token';
  if (identity.token.clusterId !== null && identity.token.clusterId !== clusterId) return 'wrong-cluster';
  if (!identity.admin && !identity.clusterRoles.has(clusterId)) return 'not-member';
  return undefined;
}

/**
 * Parses, looks up and decides a bearer string. Synchronous for a synchronous source: the
 * webhook answers a review without a promise.
 */
export function verifyToken(token: string, source: TokenSource, clock: () => number, clusterId?: string): AuthResult | Promise<AuthResult> {
  const presented = parseToken(token);
  if (!presented) return REFUSED.malformed;
  const found = source.find(presented.id);
  if (found instanceof Promise) return found.then((subject) => decide(presented, subject, clock(), clusterId));
  return decide(presented, found, clock(), clusterId);
}
