/**
 * Revocation ends open streams (SECURITY.md): after each revocation event, every stream of this
 * replica that the event may concern is judged again against the store, as a new request with
 * its token would be, and ended when it would be refused now (token revoked or expired, user
 * disabled or deleted, membership removed, cluster deleted). The bus brings every event to
 * every replica, so this runs wherever the stream is.
 */
import type { Logger } from 'pino';
import type { OpenStream, OpenStreams } from '../proxy/open-streams.js';
import { principalsOf, type Store } from '../store/store.js';
import { rolesByCluster } from './cluster-access.js';
import type { Revocation } from './revocations.js';
import { StoreTokenSource } from './store-authenticator.js';
import { judge, type TokenFailure } from './token-decision.js';

const WHY: Record<TokenFailure, string> = {
  malformed: 'token refused',
  unknown: 'token revoked',
  expired: 'token expired',
  'no-owner': 'user deleted',
  'user-disabled': 'user disabled',
  'agent-token': 'token refused',
  'wrong-cluster': 'token scope changed',
  'not-member': 'membership removed',
};

/** Why the stream may no longer run, or undefined while it may. */
async function whyEnded(stream: OpenStream, event: Revocation, store: Store, source: StoreTokenSource, now: number): Promise<string | undefined> {
  if ((event.type === 'cluster' || event.type === 'all') && !(await store.getCluster(stream.clusterId))) return 'cluster deleted';
  const { user } = stream;
  if (user.token.kind === 'id-token') {
    // A provider's ID token is not in the store: judge its user instead.
    const current = await store.getUser(user.userId);
    if (!current) return WHY['no-owner'];
    if (!current.enabled) return WHY['user-disabled'];
    if (current.admin) return undefined;
    return rolesByCluster(await store.membershipsOf(principalsOf(current))).has(stream.clusterId) ? undefined : WHY['not-member'];
  }
  const result = judge(await source.find(user.token.id), now, stream.clusterId);
  if (result.authenticated) return undefined;
  if (result.reason === 'unknown' && event.type === 'user') {
    // Disabling or deleting a user deletes their tokens: say what happened to the user.
    const current = await store.getUser(user.userId);
    if (!current) return WHY['no-owner'];
    if (!current.enabled) return WHY['user-disabled'];
  }
  return WHY[result.reason];
}

/** The revocation listener that ends this replica's streams no longer allowed. */
export function streamRevoker(streams: OpenStreams, store: Store, log: Logger, clock: () => number = Date.now): (event: Revocation) => void {
  const source = new StoreTokenSource(store);
  return (event) => {
    for (const stream of streams.affectedBy(event)) {
      whyEnded(stream, event, store, source, clock()).then(
        (why) => {
          if (!why) return;
          stream.end(why);
          log.info({ user: stream.user.username, tokenId: stream.user.token.id, cluster: stream.clusterId, why }, 'ended an open stream after a revocation');
        },
        (err: unknown) => log.warn({ err: (err as Error).message, cluster: stream.clusterId }, 'could not judge an open stream again after a revocation; it stays open'),
      );
    }
  };
}
