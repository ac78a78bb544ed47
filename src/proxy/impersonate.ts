/**
 * Stage 4: speak for the user. Adds the gateway's credential for the cluster and the identity
 * headers of SPEC §5. Runs only after `stripClientIdentity`.
 */
import { AUTHENTICATED_GROUP, type UserIdentity } from '../auth/identity.js';
import type { ClusterRoute } from './cluster-directory.js';

// client-go percent-encodes extra keys in header names; kube-apiserver decodes them.
const TOKEN_ID_EXTRA_HEADER = 'Impersonate-Extra-kubegate.io%2Ftoken-id';

// Identities come from the verdict cache, so one identity object serves many requests.
const memo = new WeakMap<UserIdentity, readonly string[]>();

/** The impersonation headers for an identity, as raw pairs: one `Impersonate-Group` line per group. */
export function impersonationHeaders(identity: UserIdentity): readonly string[] {
  let headers = memo.get(identity);
  if (!headers) {
    const lines = ['Impersonate-User', identity.username, 'Impersonate-Uid', identity.userId];
    for (const g of identity.groups) if (g !== AUTHENTICATED_GROUP) lines.push('Impersonate-Group', g);
    lines.push('Impersonate-Group', AUTHENTICATED_GROUP, TOKEN_ID_EXTRA_HEADER, identity.token.id);
    headers = lines;
    memo.set(identity, headers);
  }
  return headers;
}

/** Appends the cluster credential and the user's impersonation headers to stripped headers. */
export function impersonate(headers: string[], identity: UserIdentity, route: ClusterRoute): string[] {
  headers.push('Host', route.host, ...route.credentialHeader, ...impersonationHeaders(identity));
  return headers;
}
