/** JSON shapes of records in API answers. Secrets and cluster credentials never appear here. */
import type { Cluster, TokenRecord, User } from '../../store/store.js';

export function tokenView(t: TokenRecord) {
  return {
    tokenId: t.id,
    kind: t.kind,
    description: t.description,
    userId: t.userId,
    clusterId: t.clusterId,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
  };
}

export function userView(u: User) {
  return {
    id: u.id,
    username: u.username,
    groups: u.groups,
    admin: u.admin,
    enabled: u.enabled,
    source: u.source,
    subject: u.subject,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
  };
}

/**
 * A cluster without its credential; with the caller's roles when known (`roles`, and `role` the
 * strongest of them), `status` its health when known.
 */
export function clusterView(c: Cluster, roles?: readonly string[], status?: object) {
  return {
    id: c.id,
    name: c.name,
    connection: c.connection,
    server: c.server === '' ? null : c.server,
    caData: c.caData ?? null,
    insecureSkipTLSVerify: c.insecureSkipTLSVerify,
    credentialType: c.credential === null ? null : 'token' in c.credential ? 'token' : 'clientCertificate',
    authorizedEndpoint: c.authorizedEndpoint,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    ...(roles === undefined ? {} : { role: roles[0] ?? null, roles }),
    ...(status === undefined ? {} : { status }),
  };
}
