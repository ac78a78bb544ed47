/**
 * Who may reach which cluster, the rules the proxy and the management API share: a user's role on
 * a cluster comes from their direct and group memberships, the stronger role winning; admins reach
 * every cluster; unknown and forbidden clusters are refused with the same message.
 */
import type { Member, MemberRole } from '../store/store.js';

/** Unknown and forbidden clusters get this same message, so ids cannot be probed. */
export function noAccessMessage(clusterId: string): string {
  return `cluster "${clusterId}" does not exist or you are not a member of it`;
}

/** The role per cluster from a user's memberships: `owner` wins over `member`. */
export function rolesByCluster(memberships: Iterable<Pick<Member, 'clusterId' | 'role'>>): Map<string, MemberRole> {
  const roles = new Map<string, MemberRole>();
  for (const m of memberships) if (roles.get(m.clusterId) !== 'owner') roles.set(m.clusterId, m.role);
  return roles;
}
