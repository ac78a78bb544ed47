/**
 * Stage: speak for the user. Adds the gateway's credential for the cluster and the user a cluster
 * sees (`kubeUserOf`, the same the webhook returns) as `Impersonate-*` headers. Runs only after
 * `stripClientIdentity`, and puts the gateway's lines before the client's.
 */
import type { UserIdentity } from '../auth/identity.js';
import { kubeUserOf } from '../auth/kube-user.js';
import type { ClusterRoute } from '../upstream/cluster-directory.js';
import { requestedIdentityHeaders, type RequestedIdentity } from './checked-impersonation.js';

// Identities come from the verdict cache, so one identity object serves many requests; its
// groups differ per cluster (the roles held there), hence one entry per cluster.
const memo = new WeakMap<UserIdentity, Map<string, readonly string[]>>();

/** The impersonation headers for an identity on a cluster, as raw pairs: one `Impersonate-Group` line per group. */
export function impersonationHeaders(identity: UserIdentity, clusterId: string): readonly string[] {
  let perCluster = memo.get(identity);
  if (!perCluster) {
    perCluster = new Map();
    memo.set(identity, perCluster);
  }
  let headers = perCluster.get(clusterId);
  if (!headers) {
    const user = kubeUserOf(identity, clusterId);
    const lines = ['Impersonate-User', user.username, 'Impersonate-Uid', user.uid];
    for (const g of user.groups) lines.push('Impersonate-Group', g);
    // client-go percent-encodes extra keys in header names; kube-apiserver decodes them.
    for (const [key, values] of Object.entries(user.extra)) for (const v of values) lines.push(`Impersonate-Extra-${encodeURIComponent(key)}`, v);
    headers = lines;
    perCluster.set(clusterId, headers);
  }
  return headers;
}

/**
 * The outgoing header lines: `Host`, the cluster credential and the user's impersonation headers
 * first, then the stripped client headers. First, because anything that keeps only the first N
 * header lines of a request (a proxy, a parser's limit) must lose the client's padding, never the
 * impersonation that goes with the gateway's credential (SECURITY.md, header order).
 */
export function impersonate(
  headers: readonly string[],
  identity: UserIdentity,
  route: Pick<ClusterRoute, 'id' | 'host' | 'credentialHeader'>,
  asked: RequestedIdentity | null = null,
): string[] {
  // A checked `kubectl --as` (checked-impersonation.ts) acts as the identity the cluster allowed.
  const impersonation = asked ? requestedIdentityHeaders(asked, identity) : impersonationHeaders(identity, route.id);
  return ['Host', route.host].concat(route.credentialHeader, impersonation, headers);
}
