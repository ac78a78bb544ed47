/** Who may reach or manage a cluster, read fresh from the store: admins everything; members reach; owners manage members. */
import { noAccessMessage, rolesByCluster } from '../auth/cluster-access.js';
import { forbidden } from '../errors.js';
import { principalsOf, type Cluster, type MemberRole, type Store } from '../store/store.js';

type Caller = { admin: boolean; username: string; groups: readonly string[] };

/** The caller's role on a cluster read fresh from the store ('owner' for admins), or undefined. */
export async function roleOn(store: Store, caller: Caller, clusterId: string): Promise<MemberRole | undefined> {
  if (caller.admin) return 'owner';
  const memberships = (await store.membershipsOf(principalsOf(caller))).filter((m) => m.clusterId === clusterId);
  return rolesByCluster(memberships).get(clusterId);
}

/** The cluster if the caller may reach it; otherwise 403 with the same message as an unknown cluster. */
export async function reachableCluster(store: Store, caller: Caller, clusterId: string, need: MemberRole = 'member'): Promise<Cluster> {
  const [cluster, role] = await Promise.all([store.getCluster(clusterId), roleOn(store, caller, clusterId)]);
  if (!cluster || !role || (need === 'owner' && role !== 'owner')) throw forbidden(noAccessMessage(clusterId));
  return cluster;
}
