/**
 * `kubegate render impersonator`: what an operator applies to a cluster so the gateway can reach
 * it with least privilege: a ServiceAccount with a token Secret, allowed to impersonate exactly
 * what the gateway sends (docs/reference/identity.md) and nothing else.
 */
import { TOKEN_ID_EXTRA } from '../auth/identity.js';
import { IMPERSONATED_BY_EXTRA } from '../proxy/checked-impersonation.js';
import { toYamlStream } from './documents.js';

export const DEFAULT_IMPERSONATOR_NAMESPACE = 'kubegate';
export const IMPERSONATOR_NAME = 'kubegate-impersonator';

const labels = { 'app.kubernetes.io/name': IMPERSONATOR_NAME, 'app.kubernetes.io/part-of': 'kubegate' };

/**
 * The rules: `Impersonate-User` (a user, or a service account for a checked `kubectl --as`),
 * `-Group`, `-Uid`, `-Extra-kubegate.io%2Ftoken-id` and `-Extra-kubegate.io%2Fimpersonated-by`.
 */
export function impersonationRules() {
  return [
    { apiGroups: [''], resources: ['users', 'groups', 'serviceaccounts'], verbs: ['impersonate'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['uids', `userextras/${TOKEN_ID_EXTRA}`, `userextras/${IMPERSONATED_BY_EXTRA}`], verbs: ['impersonate'] },
  ];
}

/** The manifests, as one YAML stream. */
export function renderImpersonator(options: { namespace?: string } = {}): string {
  const namespace = options.namespace ?? DEFAULT_IMPERSONATOR_NAMESPACE;
  const secretName = `${IMPERSONATOR_NAME}-token`;
  return toYamlStream([
    {
      comment: `The identity kubegate uses to reach this cluster. After applying, register the cluster with its token:
  kubectl -n ${namespace} get secret ${secretName} -o jsonpath='{.data.token}' | base64 -d
and use it as credential.token in POST /v1/clusters. It may only impersonate: what users can do
is up to RBAC for their usernames and groups (every kubegate user has group kubegate:authenticated).`,
      value: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    },
    { value: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: IMPERSONATOR_NAME, namespace, labels }, automountServiceAccountToken: false } },
    {
      comment: 'A long-lived token for the ServiceAccount, filled in by the token controller.',
      value: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, namespace, labels, annotations: { 'kubernetes.io/service-account.name': IMPERSONATOR_NAME } },
        type: 'kubernetes.io/service-account-token',
      },
    },
    {
      value: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: IMPERSONATOR_NAME, labels },
        rules: impersonationRules(),
      },
    },
    {
      value: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: IMPERSONATOR_NAME, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: IMPERSONATOR_NAME },
        subjects: [{ kind: 'ServiceAccount', name: IMPERSONATOR_NAME, namespace }],
      },
    },
  ]);
}
