/**
 * The user a cluster sees, the same on both doors (docs/reference/identity.md): the gateway sends
 * it as `Impersonate-*` headers, the webhook returns it as a TokenReview's `status.user`.
 */
import { ROLE_GROUP_PREFIX, roleGroup, rolesOn } from './cluster-access.js';
import { AUTHENTICATED_GROUP, TOKEN_ID_EXTRA, type UserIdentity } from './identity.js';

export interface KubeUser {
  username: string;
  uid: string;
  /** The user's groups, then one `kubegate:role:<role>` per role held on the cluster, then `kubegate:authenticated` last, exactly once. */
  groups: string[];
  extra: Record<string, string[]>;
}

/** The cluster's view of an identity on one cluster; the token id travels as an extra. */
export function kubeUserOf(
  identity: Pick<UserIdentity, 'userId' | 'username' | 'groups' | 'admin' | 'clusterRoles'> & { token: { id: string } },
  clusterId: string,
): KubeUser {
  // kubegate's own groups are said by kubegate only, whatever a user record or provider claims.
  const groups = identity.groups.filter((g) => g !== AUTHENTICATED_GROUP && !g.startsWith(ROLE_GROUP_PREFIX));
  for (const role of rolesOn(identity, clusterId)) groups.push(roleGroup(role));
  groups.push(AUTHENTICATED_GROUP);
  return { username: identity.username, uid: identity.userId, groups, extra: { [TOKEN_ID_EXTRA]: [identity.token.id] } };
}
