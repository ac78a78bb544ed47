/**
 * `kubegate render rbac` (and `GET /v1/roles/rbac.yaml`): what makes kubegate's roles mean
 * something inside a cluster (docs/reference/identity.md). The gateway and the webhook give a user
 * one group `kubegate:role:<role>` per role held on the cluster; these ClusterRoleBindings bind
 * each such group to its ClusterRole: the built-ins by the `--*-cluster-role` settings
 * (owner → cluster-admin, member → edit, viewer → view by default), custom roles to theirs.
 */
import { roleGroup } from '../auth/cluster-access.js';
import { ConfigError } from '../errors.js';
import { BUILT_IN_ROLES, type BuiltInRole } from '../store/store.js';
import { toYamlStream } from './documents.js';

export type BuiltInClusterRoles = Record<BuiltInRole, string>;

export const DEFAULT_BUILT_IN_CLUSTER_ROLES: BuiltInClusterRoles = { owner: 'cluster-admin', member: 'edit', viewer: 'view' };

/** The label every binding carries, so a reconciler finds (and prunes) exactly its own. */
export const RBAC_MANAGED_LABEL = 'kubegate.io/role-binding';

const CLUSTER_ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,252}$/;

/** A ClusterRole name as RBAC accepts it in a roleRef (a path segment name). */
export function parseClusterRoleName(name: string, raw: string): string {
  if (!CLUSTER_ROLE_NAME.test(raw)) throw new ConfigError(`${name}: "${raw}" is not a ClusterRole name (letters, digits, : . _ -)`);
  return raw;
}

/** The settings of the built-in mapping, shared by `serve` and `render rbac`. */
export const BUILT_IN_ROLE_SETTINGS = {
  ownerClusterRole: {
    flag: 'owner-cluster-role',
    env: 'KUBEGATE_OWNER_CLUSTER_ROLE',
    default: DEFAULT_BUILT_IN_CLUSTER_ROLES.owner,
    help: 'the ClusterRole the owner role grants in clusters (render rbac)',
    parse: parseClusterRoleName,
  },
  memberClusterRole: {
    flag: 'member-cluster-role',
    env: 'KUBEGATE_MEMBER_CLUSTER_ROLE',
    default: DEFAULT_BUILT_IN_CLUSTER_ROLES.member,
    help: 'the ClusterRole the member role grants in clusters',
    parse: parseClusterRoleName,
  },
  viewerClusterRole: {
    flag: 'viewer-cluster-role',
    env: 'KUBEGATE_VIEWER_CLUSTER_ROLE',
    default: DEFAULT_BUILT_IN_CLUSTER_ROLES.viewer,
    help: 'the ClusterRole the viewer role grants in clusters',
    parse: parseClusterRoleName,
  },
} as const;

export function builtInClusterRolesOf(v: { ownerClusterRole: string; memberClusterRole: string; viewerClusterRole: string }): BuiltInClusterRoles {
  return { owner: v.ownerClusterRole, member: v.memberClusterRole, viewer: v.viewerClusterRole };
}

/** Role name → ClusterRole, built-ins first, then custom roles by name. */
export function roleBindings(builtIns: BuiltInClusterRoles, custom: ReadonlyArray<{ name: string; clusterRole: string }>): Array<{ role: string; clusterRole: string }> {
  return [
    ...BUILT_IN_ROLES.map((role) => ({ role, clusterRole: builtIns[role] })),
    ...[...custom].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((r) => ({ role: r.name, clusterRole: r.clusterRole })),
  ];
}

/** One ClusterRoleBinding, named like the group it binds. */
export function roleBinding(role: string, clusterRole: string) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: roleGroup(role), labels: { 'app.kubernetes.io/part-of': 'kubegate', [RBAC_MANAGED_LABEL]: 'true' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: roleGroup(role) }],
  };
}

/** The manifests, as one YAML stream. */
export function renderRbac(builtIns: BuiltInClusterRoles, custom: ReadonlyArray<{ name: string; clusterRole: string }> = []): string {
  return toYamlStream(
    roleBindings(builtIns, custom).map(({ role, clusterRole }, i) => ({
      ...(i === 0
        ? {
            comment: `kubegate roles as RBAC: a user holding role R on this cluster carries group kubegate:role:R
(through the gateway and the authorized endpoint alike). Re-apply after adding custom roles.`,
          }
        : {}),
      value: roleBinding(role, clusterRole),
    })),
  );
}
