/**
 * The API surface the double serves, in one table: discovery, the OpenAPI stub, strict field
 * validation and routing all read it, so a resource added here is served consistently.
 */
import type { KubeObject } from './types.js';

export interface SubresourceDef {
  name: string;
  kind: string;
  /** Group/version of `kind` when it differs from the parent's. */
  kindGroup?: string;
  kindVersion?: string;
  verbs: string[];
}

export interface ResourceDef {
  group: string;
  version: string;
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  subresources: SubresourceDef[];
  /** Kept in the object store (list/get/watch/create/...); false for virtual ones like selfsubjectreviews. */
  stored: boolean;
  /** Top-level fields a strict decoder accepts. */
  fields: string[];
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const COMMON_FIELDS = ['apiVersion', 'kind', 'metadata'];

export const RESOURCES: ResourceDef[] = [
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['ns'],
    categories: [],
    subresources: [],
    stored: true,
    fields: [...COMMON_FIELDS, 'spec', 'status'],
  },
  {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    listKind: 'ConfigMapList',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['cm'],
    categories: [],
    subresources: [],
    stored: true,
    fields: [...COMMON_FIELDS, 'data', 'binaryData', 'immutable'],
  },
  {
    group: '',
    version: 'v1',
    resource: 'pods',
    singular: 'pod',
    kind: 'Pod',
    listKind: 'PodList',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['po'],
    categories: ['all'],
    subresources: [
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
    ],
    stored: true,
    fields: [...COMMON_FIELDS, 'spec', 'status'],
  },
  // What an agent's manifests create (docs/agent-tunnel.md): kube-apiserver's built-in kinds.
  {
    group: '',
    version: 'v1',
    resource: 'serviceaccounts',
    singular: 'serviceaccount',
    kind: 'ServiceAccount',
    listKind: 'ServiceAccountList',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['sa'],
    categories: [],
    subresources: [],
    stored: true,
    fields: [...COMMON_FIELDS, 'secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  },
  {
    group: '',
    version: 'v1',
    resource: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    listKind: 'SecretList',
    namespaced: true,
    verbs: CRUD,
    shortNames: [],
    categories: [],
    subresources: [],
    stored: true,
    fields: [...COMMON_FIELDS, 'data', 'stringData', 'type', 'immutable'],
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    listKind: 'DeploymentList',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: [],
    stored: true,
    fields: [...COMMON_FIELDS, 'spec', 'status'],
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'daemonsets',
    singular: 'daemonset',
    kind: 'DaemonSet',
    listKind: 'DaemonSetList',
    namespaced: true,
    verbs: CRUD,
    shortNames: ['ds'],
    categories: ['all'],
    subresources: [],
    stored: true,
    fields: [...COMMON_FIELDS, 'spec', 'status'],
  },
  {
    group: 'authentication.k8s.io',
    version: 'v1',
    resource: 'selfsubjectreviews',
    singular: 'selfsubjectreview',
    kind: 'SelfSubjectReview',
    listKind: 'SelfSubjectReviewList',
    namespaced: false,
    verbs: ['create'],
    shortNames: [],
    categories: [],
    subresources: [],
    stored: false,
    fields: [...COMMON_FIELDS, 'status'],
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    resource: 'selfsubjectaccessreviews',
    singular: 'selfsubjectaccessreview',
    kind: 'SelfSubjectAccessReview',
    listKind: 'SelfSubjectAccessReviewList',
    namespaced: false,
    verbs: ['create'],
    shortNames: [],
    categories: [],
    subresources: [],
    stored: false,
    fields: [...COMMON_FIELDS, 'spec', 'status'],
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    resource: 'subjectaccessreviews',
    singular: 'subjectaccessreview',
    kind: 'SubjectAccessReview',
    listKind: 'SubjectAccessReviewList',
    namespaced: false,
    verbs: ['create'],
    shortNames: [],
    categories: [],
    subresources: [],
    stored: false,
    fields: [...COMMON_FIELDS, 'spec', 'status'],
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resource: 'clusterroles',
    singular: 'clusterrole',
    kind: 'ClusterRole',
    listKind: 'ClusterRoleList',
    namespaced: false,
    verbs: CRUD,
    shortNames: [],
    categories: [],
    subresources: [],
    stored: true,
    fields: [...COMMON_FIELDS, 'rules', 'aggregationRule'],
  },
  {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resource: 'clusterrolebindings',
    singular: 'clusterrolebinding',
    kind: 'ClusterRoleBinding',
    listKind: 'ClusterRoleBindingList',
    namespaced: false,
    verbs: CRUD,
    shortNames: [],
    categories: [],
    subresources: [],
    stored: true,
    fields: [...COMMON_FIELDS, 'roleRef', 'subjects'],
  },
];

/** The API groups (other than the core one) with their served versions, preferred first. */
export const API_GROUPS = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))].map((name) => ({
  name,
  versions: [...new Set(RESOURCES.filter((r) => r.group === name).map((r) => r.version))],
}));

export const findResource = (group: string, version: string, resource: string): ResourceDef | undefined =>
  RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);

export const groupVersionString = (group: string, version: string): string => (group ? `${group}/${version}` : version);

/** An object as served on its own or in a watch event: type meta first, as Go serialises it. */
export const withTypeMeta = (def: ResourceDef, object: KubeObject): KubeObject => {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return { kind: def.kind, apiVersion: groupVersionString(def.group, def.version), ...rest };
};

/** List items carry no type meta in kube-apiserver's typed lists. */
export const withoutTypeMeta = (object: KubeObject): KubeObject => {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest as KubeObject;
};
