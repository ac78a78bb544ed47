/** Sync pages and tokens for webhook unit tests. */
import { issueToken, type IssuedToken } from '../../src/auth/tokens.js';
import type { AuthnSync, SyncedToken, SyncedUser } from '../../src/sync/protocol.js';

export const alice: SyncedUser = { id: 'u-alice', username: 'alice', groups: ['dev', 'ops'], enabled: true, member: true };

export function tokenFor(user: SyncedUser, extra: Partial<SyncedToken> = {}): { issued: IssuedToken; synced: SyncedToken } {
  const issued = issueToken();
  const synced: SyncedToken = { id: issued.id, kind: 'kubeconfig', userId: user.id, secretHash: issued.secretHash, expiresAt: null, ...extra };
  return { issued, synced };
}

export function page(body: Partial<AuthnSync>): AuthnSync {
  return {
    kind: 'AuthnSync',
    apiVersion: 'kubegate.io/v1',
    clusterId: 'prod',
    epoch: 'e1',
    revision: 1,
    full: true,
    tokens: [],
    users: [],
    deletedTokens: [],
    ...body,
  };
}
