/**
 * Stage: may this identity reach this cluster? The token must be a user's, scoped to this cluster
 * or to none, and the user a member (admins reach every cluster); the cluster must exist.
 */
import { noAccessMessage } from '../auth/cluster-access.js';
import type { Identity, UserIdentity } from '../auth/identity.js';
import { admit } from '../auth/token-decision.js';
import { forbidden } from '../errors.js';
import type { ClusterDirectory, ClusterRoute } from '../upstream/cluster-directory.js';

/** The route to the cluster; throws 403, with one message for unknown and forbidden clusters. */
export function authorizeCluster(identity: Identity, clusterId: string, clusters: Pick<ClusterDirectory, 'get'>): { user: UserIdentity; route: ClusterRoute } {
  switch (admit(identity, clusterId)) {
    case 'agent-token':
      throw forbidden('agent tokens cannot be used to reach a cluster');
    case 'wrong-cluster':
      throw forbidden('this token is scoped to another cluster');
    case 'not-member':
      throw forbidden(noAccessMessage(clusterId));
  }
  const route = clusters.get(clusterId);
  if (!route) throw forbidden(noAccessMessage(clusterId));
  return { user: identity as UserIdentity, route };
}
