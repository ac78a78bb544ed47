/**
 * The user a cluster sees, the same on both doors (docs/reference/identity.md): the gateway sends
 * it as `Impersonate-*` headers, the webhook returns it as a TokenReview's `status.user`.
 */
import { AUTHENTICATED_GROUP, TOKEN_ID_EXTRA, type UserIdentity } from './identity.js';

export interface KubeUser {
  username: string;
  uid: string;
  /** The user's groups, then `kubegate:authenticated` last, exactly once. */
  groups: string[];
  extra: Record<string, string[]>;
}

/** The cluster's view of an identity; the token id travels as an extra. */
export function kubeUserOf(identity: Pick<UserIdentity, 'userId' | 'username' | 'groups'> & { token: { id: string } }): KubeUser {
  const groups = identity.groups.filter((g) => g !== AUTHENTICATED_GROUP);
  groups.push(AUTHENTICATED_GROUP);
  return { username: identity.username, uid: identity.userId, groups, extra: { [TOKEN_ID_EXTRA]: [identity.token.id] } };
}
