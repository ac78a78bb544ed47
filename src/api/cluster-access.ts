/** Who may reach or manage a cluster, read fresh from the store: admins everything; members reach; owners manage members. */
import { noAccessMessage, rolesByCluster, rolesOn } from '../auth/cluster-access.js';
import { forbidden } from '../errors.js';
import { principalsOf, type Cluster, type MemberRole, type Store } from '../store/store.js';

type Caller = { admin: boolean; username: string; groups: readonly string[] };

/** The caller's roles on a cluster read fresh from the store (admins hold 'owner'); empty when none. */
export async function rolesOnCluster(store: Store, caller: Caller, clusterId: string): Promise<readonly MemberRole[]> {
  const memberships = (await store.membershipsOf(principalsOf(caller))).filter((m) => m.clusterId === clusterId);
  return rolesOn({ admin: caller.admin, clusterRoles: rolesByCluster(memberships) }, clusterId);
}

/**
 * The cluster if the caller may reach it (any role), or manage it (`need: 'owner'`); otherwise 403
 * with the same message as an unknown cluster.
 */
export async function reachableCluster(store: Store, caller: Caller, clusterId: string, need: 'any' | 'owner' = 'any'): Promise<Cluster> {
  const [cluster, roles] = await Promise.all([store.getCluster(clusterId), rolesOnCluster(store, caller, clusterId)]);
  if (!cluster || roles.length === 0 || (need === 'owner' && !roles.includes('owner'))) throw forbidden(noAccessMessage(clusterId));
  return cluster;
}
