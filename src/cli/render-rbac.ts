/** `kubegate render rbac`: prints the ClusterRoleBindings that give kubegate's roles their ClusterRoles. */
import { defineCommand, readSettings } from '../config/settings.js';
import { ConfigError } from '../errors.js';
import { BUILT_IN_ROLES } from '../store/store.js';
import { BUILT_IN_ROLE_SETTINGS, builtInClusterRolesOf, parseClusterRoleName, renderRbac } from '../render/rbac.js';
import { parseRoleName } from '../api/role-name.js';

function parseCustomRoles(name: string, raw: string): Array<{ name: string; clusterRole: string }> {
  if (raw === '') return [];
  return raw.split(',').map((pair) => {
    const [role, clusterRole, ...rest] = pair.split('=');
    if (role === undefined || clusterRole === undefined || rest.length > 0) throw new ConfigError(`${name}: "${pair}" is not ROLE=CLUSTERROLE`);
    const error = parseRoleName(role);
    if (error) throw new ConfigError(`${name}: ${error}`);
    if ((BUILT_IN_ROLES as readonly string[]).includes(role)) throw new ConfigError(`${name}: ${role} is a built-in role (use --${role}-cluster-role)`);
    return { name: role, clusterRole: parseClusterRoleName(name, clusterRole) };
  });
}

export const spec = defineCommand({
  name: 'render rbac',
  usage: ['render rbac [--owner-cluster-role R] [--member-cluster-role R] [--viewer-cluster-role R] [--role NAME=CLUSTERROLE ...]'],
  description:
    "Prints one ClusterRoleBinding per kubegate role: group kubegate:role:<role> to the role's ClusterRole. GET /v1/roles/rbac.yaml prints the same with the gateway's settings and custom roles.",
  settings: {
    ...BUILT_IN_ROLE_SETTINGS,
    role: { flag: 'role', repeatable: true, default: '', help: 'a custom role and its ClusterRole, NAME=CLUSTERROLE (repeatable)', parse: parseCustomRoles },
  },
});

export async function run(argv: string[]): Promise<number> {
  const v = readSettings(spec, argv);
  process.stdout.write(renderRbac(builtInClusterRolesOf(v), v.role));
  return 0;
}
