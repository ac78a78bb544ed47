/**
 * kube-apiserver's RBAC authorizer (plugin/pkg/auth/authorizer/rbac, v1.32) over the double's
 * stored ClusterRoles and ClusterRoleBindings, and the bootstrap policy a new cluster starts with.
 * Matching rules as rbac/v1 helpers: `*` for verbs, API groups and resources, `*∕<subresource>`,
 * `resourceNames` (never matching a request without a name), non-resource URLs with a trailing `*`.
 * `system:masters` is allowed everything before RBAC is asked (the privileged-group authorizer).
 * Namespaced Roles and RoleBindings are not served (a known approximation).
 */
import { parseAllDocuments } from 'yaml';
import type { ObjectStore } from './store.js';
import type { AuthorizationAttributes, KubeObject, UserInfo } from './types.js';

const CLUSTER_ROLES = { group: 'rbac.authorization.k8s.io', resource: 'clusterroles' };
const CLUSTER_ROLE_BINDINGS = { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' };
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

export interface Decision {
  allowed: boolean;
  /** kube-apiserver's wording, e.g. `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`. */
  reason: string;
}

const has = (list: string[] | undefined, value: string): boolean => (list ?? []).some((v) => v === '*' || v === value);

const resourceMatches = (rule: PolicyRule, resource: string, subresource: string): boolean => {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return (rule.resources ?? []).some((r) => r === '*' || r === combined || (subresource !== '' && r === `*/${subresource}`));
};

const nonResourceMatches = (rule: PolicyRule, path: string): boolean =>
  (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));

export const ruleAllows = (rule: PolicyRule, a: Omit<AuthorizationAttributes, 'user'>): boolean => {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return nonResourceMatches(rule, a.path);
  if (!has(rule.apiGroups, a.apiGroup) || !resourceMatches(rule, a.resource, a.subresource)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== '' && names.includes(a.name));
};

const subjectMatches = (subject: Subject, user: UserInfo): boolean => {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount':
      return user.username === `${SERVICE_ACCOUNT_PREFIX}${subject.namespace ?? ''}:${subject.name}`;
    default:
      return false;
  }
};

interface CompiledBinding {
  name: string;
  role: string;
  subjects: Subject[];
  rules: PolicyRule[];
}

/** The bindings with their roles' rules, recompiled only when the store changed (requests ask often). */
const compiled = new WeakMap<ObjectStore, { revision: number; bindings: CompiledBinding[] }>();

const policyOf = (store: ObjectStore): CompiledBinding[] => {
  const cached = compiled.get(store);
  if (cached && cached.revision === store.currentRevision()) return cached.bindings;
  const bindings: CompiledBinding[] = [];
  for (const binding of store.list(CLUSTER_ROLE_BINDINGS)) {
    const roleRef = binding.roleRef as { kind?: string; name?: string } | undefined;
    if (roleRef?.kind !== 'ClusterRole' || !roleRef.name || !store.has(CLUSTER_ROLES, '', roleRef.name)) continue;
    const rules = (store.get(CLUSTER_ROLES, '', roleRef.name).rules as PolicyRule[] | undefined) ?? [];
    bindings.push({ name: binding.metadata.name ?? '', role: roleRef.name, subjects: (binding.subjects as Subject[] | undefined) ?? [], rules });
  }
  compiled.set(store, { revision: store.currentRevision(), bindings });
  return bindings;
};

/** Asks the stored policy whether `attributes.user` may do what the attributes describe. */
export const rbacDecision = (store: ObjectStore, attributes: AuthorizationAttributes): Decision => {
  const { user } = attributes;
  if (user.groups.includes('system:masters')) return { allowed: true, reason: '' };
  for (const binding of policyOf(store)) {
    const subject = binding.subjects.find((s) => subjectMatches(s, user));
    if (!subject || !binding.rules.some((rule) => ruleAllows(rule, attributes))) continue;
    const to = subject.kind === 'ServiceAccount' ? `ServiceAccount "${subject.name}/${subject.namespace ?? ''}"` : `${subject.kind} "${subject.name}"`;
    return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${binding.name}" of ClusterRole "${binding.role}" to ${to}` };
  }
  return { allowed: false, reason: '' };
};

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const CORE_READ = ['pods', 'pods/log', 'pods/status', 'configmaps', 'endpoints', 'events', 'namespaces', 'persistentvolumeclaims', 'replicationcontrollers', 'resourcequotas', 'serviceaccounts', 'services', 'limitranges'];
const CORE_WRITE = ['pods', 'pods/exec', 'pods/attach', 'pods/portforward', 'configmaps', 'secrets', 'services', 'serviceaccounts', 'persistentvolumeclaims', 'replicationcontrollers'];
const APPS = ['deployments', 'daemonsets', 'replicasets', 'statefulsets', 'deployments/scale', 'statefulsets/scale'];

/** The user-facing roles and the bootstrap bindings every cluster has (abridged to what the double serves). */
const bootstrapRoles = (): Array<{ name: string; rules: PolicyRule[] }> => {
  const view: PolicyRule[] = [
    { apiGroups: [''], resources: CORE_READ, verbs: READ },
    { apiGroups: ['apps'], resources: APPS, verbs: READ },
  ];
  const edit: PolicyRule[] = [
    ...view,
    { apiGroups: [''], resources: ['secrets', 'pods/exec', 'pods/attach', 'pods/portforward'], verbs: READ },
    { apiGroups: [''], resources: CORE_WRITE, verbs: WRITE },
    { apiGroups: ['apps'], resources: APPS, verbs: WRITE },
  ];
  return [
    { name: 'cluster-admin', rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }] },
    { name: 'admin', rules: [...edit, { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] }] },
    { name: 'edit', rules: edit },
    { name: 'view', rules: view },
    {
      name: 'system:basic-user',
      rules: [
        { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
      ],
    },
    {
      name: 'system:discovery',
      rules: [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/openapi', '/openapi/*', '/version', '/version/'], verbs: ['get'] }],
    },
  ];
};

const BOOTSTRAP_BINDINGS: Array<{ name: string; role: string; group: string }> = [
  { name: 'cluster-admin', role: 'cluster-admin', group: 'system:masters' },
  { name: 'system:basic-user', role: 'system:basic-user', group: 'system:authenticated' },
  { name: 'system:discovery', role: 'system:discovery', group: 'system:authenticated' },
];

const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

/** Stores the bootstrap ClusterRoles and ClusterRoleBindings. */
export const seedBootstrapPolicy = (store: ObjectStore): void => {
  for (const role of bootstrapRoles()) {
    store.create(CLUSTER_ROLES, { kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { name: role.name, labels: bootstrapLabels }, rules: role.rules });
  }
  for (const b of BOOTSTRAP_BINDINGS) {
    store.create(CLUSTER_ROLE_BINDINGS, {
      kind: 'ClusterRoleBinding',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      metadata: { name: b.name, labels: bootstrapLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: b.role },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: b.group }],
    });
  }
};

/**
 * Stores (or replaces) the ClusterRoles and ClusterRoleBindings of a YAML stream, as
 * `kubectl apply` would; other kinds are ignored. Returns the names stored.
 */
export const applyRbacManifests = (store: ObjectStore, yamlStream: string): string[] => {
  const stored: string[] = [];
  for (const doc of parseAllDocuments(yamlStream)) {
    const object = doc.toJS() as KubeObject | null;
    if (!object || (object.kind !== 'ClusterRole' && object.kind !== 'ClusterRoleBinding')) continue;
    const gr = object.kind === 'ClusterRole' ? CLUSTER_ROLES : CLUSTER_ROLE_BINDINGS;
    const name = object.metadata.name ?? '';
    if (store.has(gr, '', name)) store.update(gr, object);
    else store.create(gr, object);
    stored.push(`${object.kind}/${name}`);
  }
  return stored;
};
