/**
 * Stage: speak for the user. Adds the gateway's credential for the cluster and the user a cluster
 * sees (`kubeUserOf`, the same the webhook returns) as `Impersonate-*` headers. Runs only after
 * `stripClientIdentity`.
 */
import type { UserIdentity } from '../auth/identity.js';
import { kubeUserOf } from '../auth/kube-user.js';
import type { ClusterRoute } from '../upstream/cluster-directory.js';

// Identities come from the verdict cache, so one identity object serves many requests.
const memo = new WeakMap<UserIdentity, readonly string[]>();

/** The impersonation headers for an identity, as raw pairs: one `Impersonate-Group` line per group. */
export function impersonationHeaders(identity: UserIdentity): readonly string[] {
  let headers = memo.get(identity);
  if (!headers) {
    const user = kubeUserOf(identity);
    const lines = ['Impersonate-User', user.username, 'Impersonate-Uid', user.uid];
    for (const g of user.groups) lines.push('Impersonate-Group', g);
    // client-go percent-encodes extra keys in header names; kube-apiserver decodes them.
    for (const [key, values] of Object.entries(user.extra)) for (const v of values) lines.push(`Impersonate-Extra-${encodeURIComponent(key)}`, v);
    headers = lines;
    memo.set(identity, headers);
  }
  return headers;
}

/** Appends the cluster credential and the user's impersonation headers to stripped headers. */
export function impersonate(headers: string[], identity: UserIdentity, route: Pick<ClusterRoute, 'host' | 'credentialHeader'>): string[] {
  headers.push('Host', route.host, ...route.credentialHeader, ...impersonationHeaders(identity));
  return headers;
}
