/**
 * Who may reach which cluster, and with which roles, the rules the proxy, the webhook and the
 * management API share: a user holds every role their direct and group memberships give on a
 * cluster (docs/reference/identity.md); admins hold `owner` on every cluster; unknown and
 * forbidden clusters are refused with the same message.
 */
import { BUILT_IN_ROLES, type Member, type MemberRole } from '../store/store.js';

/** The group a role becomes in the cluster: `kubegate:role:<role>`. */
export const ROLE_GROUP_PREFIX = 'kubegate:role:';

export function roleGroup(role: MemberRole): string {
  return ROLE_GROUP_PREFIX + role;
}

/** Unknown and forbidden clusters get this same message, so ids cannot be probed. */
export function noAccessMessage(clusterId: string): string {
  return `cluster "${clusterId}" does not exist or you are not a member of it`;
}

const BUILT_IN_ORDER = new Map<string, number>(BUILT_IN_ROLES.map((r, i) => [r, i]));

/** Built-in roles first (owner, member, viewer), then custom ones by name. */
export function sortRoles(roles: Iterable<MemberRole>): MemberRole[] {
  const rank = (r: string) => BUILT_IN_ORDER.get(r) ?? BUILT_IN_ROLES.length;
  return [...new Set(roles)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Every role per cluster from a user's memberships, each list sorted (`sortRoles`) without repeats. */
export function rolesByCluster(memberships: Iterable<Pick<Member, 'clusterId' | 'role'>>): Map<string, readonly MemberRole[]> {
  const collected = new Map<string, MemberRole[]>();
  for (const m of memberships) {
    const list = collected.get(m.clusterId);
    if (list) list.push(m.role);
    else collected.set(m.clusterId, [m.role]);
  }
  return new Map([...collected].map(([id, roles]) => [id, Object.freeze(sortRoles(roles))]));
}

/** The roles a user holds on one cluster: their memberships', plus `owner` for admins. */
export function rolesOn(user: { admin: boolean; clusterRoles: ReadonlyMap<string, readonly MemberRole[]> }, clusterId: string): readonly MemberRole[] {
  const held = user.clusterRoles.get(clusterId) ?? [];
  return user.admin && !held.includes('owner') ? sortRoles(['owner', ...held]) : held;
}

