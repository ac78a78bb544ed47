/**
 * `kubegate render agent` and the import URL: what runs the agent in a cluster
 * (docs/agent-tunnel.md): a Namespace, the agent's ServiceAccount allowed only to impersonate
 * (the rules of `render impersonator`), a Secret with the agent token and the gateway CA, and a
 * Deployment of `kubegate agent` (two replicas, non-root, read-only root file system, probes on
 * its health port). With the authorized endpoint enabled, the kube-api-auth manifests follow,
 * with the same agent token.
 */
import { defaultImage, toYamlStream, type Manifest } from './documents.js';
import { impersonationRules } from './impersonator.js';
import { AGENT_TOKEN_PLACEHOLDER, renderKubeApiAuth } from './kube-api-auth.js';

export const DEFAULT_AGENT_NAMESPACE = 'kubegate-agent';

/** Impersonation (render impersonator's rules), and what `--manage-rbac` needs for the role bindings. */
export function agentRules() {
  return [
    ...impersonationRules(),
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterrolebindings'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'] },
  ];
}
export const AGENT_NAME = 'kubegate-agent';
/** The agent's health port (`--health-listen`), probed by the kubelet on the pod's address. */
export const AGENT_HEALTH_PORT = 8440;
const SECRET_MOUNT = '/etc/kubegate-agent';
const AGENT_TOKEN_KEY = 'agent-token';
const GATEWAY_CA_KEY = 'gateway-ca.crt';
const RUN_AS = 65532;

export interface AgentManifestOptions {
  clusterId: string;
  gateway: string;
  image?: string;
  namespace?: string;
  /** The cluster's agent token; without it the Secret holds a placeholder to replace. */
  agentToken?: string;
  /** PEM of the CA that signs the gateway's certificate, when it is not publicly trusted. */
  gatewayCaPem?: string;
  /** Also print the kube-api-auth manifests (the cluster's authorized endpoint is enabled). */
  kubeApiAuth?: boolean;
  replicas?: number;
}

const labels = { 'app.kubernetes.io/name': AGENT_NAME, 'app.kubernetes.io/part-of': 'kubegate' };

function deployment(o: { clusterId: string; gateway: string; image: string; namespace: string; withCa: boolean; replicas: number }) {
  const args = ['agent', `--gateway=${o.gateway}`, `--cluster=${o.clusterId}`, `--token-file=${SECRET_MOUNT}/${AGENT_TOKEN_KEY}`, `--health-listen=0.0.0.0:${AGENT_HEALTH_PORT}`, '--manage-rbac'];
  if (o.withCa) args.push(`--gateway-ca-file=${SECRET_MOUNT}/${GATEWAY_CA_KEY}`);
  const probe = (path: string) => ({ httpGet: { path, port: 'health', scheme: 'HTTP' } });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: AGENT_NAME, namespace: o.namespace, labels },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': AGENT_NAME } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: AGENT_NAME,
          // Its own token is the gateway's credential in this cluster (kubelet-rotated, re-read by the agent).
          automountServiceAccountToken: true,
          securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: 'RuntimeDefault' } },
          // Two agents on two nodes when there are two: one node going away leaves a tunnel up.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': AGENT_NAME } } } },
              ],
            },
          },
          containers: [
            {
              name: 'agent',
              image: o.image,
              command: ['kubegate'],
              args,
              // The agent's name in the gateway's status and logs.
              env: [{ name: 'KUBEGATE_AGENT_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [{ name: 'health', containerPort: AGENT_HEALTH_PORT, protocol: 'TCP' }],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              // Alive while the process serves; ready while a tunnel to the gateway is up.
              livenessProbe: { ...probe('/healthz'), initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3 },
              readinessProbe: { ...probe('/readyz'), periodSeconds: 5, failureThreshold: 2 },
              volumeMounts: [{ name: 'credentials', mountPath: SECRET_MOUNT, readOnly: true }],
            },
          ],
          volumes: [{ name: 'credentials', secret: { secretName: AGENT_NAME, defaultMode: 0o440 } }],
        },
      },
    },
  };
}

/** The manifests, as one YAML stream. */
export function renderAgent(options: AgentManifestOptions): string {
  const namespace = options.namespace ?? DEFAULT_AGENT_NAMESPACE;
  const image = options.image ?? defaultImage();
  const stringData: Record<string, string> = { [AGENT_TOKEN_KEY]: options.agentToken ?? AGENT_TOKEN_PLACEHOLDER };
  if (options.gatewayCaPem) stringData[GATEWAY_CA_KEY] = options.gatewayCaPem;
  const manifests: Manifest[] = [
    {
      comment: `kubegate agent for cluster "${options.clusterId}": dials ${options.gateway} and carries the gateway's
requests to this cluster's kube-apiserver. Apply with kubectl apply -f.`,
      value: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    },
    { value: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: AGENT_NAME, namespace, labels } } },
    {
      comment: `The agent speaks for kubegate users here: it may impersonate them; and it keeps the bindings of
kubegate's roles (kubegate:role:<role> → ClusterRole, --manage-rbac), for which RBAC wants bind.`,
      value: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: AGENT_NAME, labels }, rules: agentRules() },
    },
    {
      value: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: AGENT_NAME, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: AGENT_NAME },
        subjects: [{ kind: 'ServiceAccount', name: AGENT_NAME, namespace }],
      },
    },
    {
      comment: options.agentToken
        ? "The agent token (the agent's credential at the gateway) and the gateway's CA."
        : `Replace ${AGENT_TOKEN_PLACEHOLDER} with the agentToken POST /v1/clusters returned for
"${options.clusterId}" (or render again with --token-file).`,
      value: { apiVersion: 'v1', kind: 'Secret', metadata: { name: AGENT_NAME, namespace, labels }, type: 'Opaque', stringData },
    },
    {
      value: deployment({
        clusterId: options.clusterId,
        gateway: options.gateway,
        image,
        namespace,
        withCa: Boolean(options.gatewayCaPem),
        replicas: options.replicas ?? 2,
      }),
    },
  ];
  const agent = toYamlStream(manifests);
  if (!options.kubeApiAuth) return agent;
  const webhook = renderKubeApiAuth({ clusterId: options.clusterId, gateway: options.gateway, image, agentToken: options.agentToken, gatewayCaPem: options.gatewayCaPem });
  return `${agent}---\n${webhook}`;
}
