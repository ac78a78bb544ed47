/** Stage 2: may this user reach this cluster? Admins reach every cluster; others need a membership. */
import { forbidden } from '../errors.js';
import type { UserIdentity } from '../auth/identity.js';
import type { ClusterDirectory, ClusterRoute } from './cluster-directory.js';

/** Unknown and forbidden clusters get this same message, so ids cannot be probed. */
export function noAccessMessage(clusterId: string): string {
  return `cluster "${clusterId}" does not exist or you are not a member of it`;
}

/** Returns the route to the cluster, or throws 403 with one message for unknown and forbidden. */
export function authorizeCluster(identity: UserIdentity, clusterId: string, clusters: ClusterDirectory): ClusterRoute {
  const route = clusters.get(clusterId);
  if (!route || !(identity.admin || identity.clusterRoles.has(clusterId))) throw forbidden(noAccessMessage(clusterId));
  return route;
}
