/**
 * `kubegate render kube-api-auth`: Namespace, Secret and the `kube-api-auth` DaemonSet that run
 * the webhook on every Linux control-plane node (docs/reference/webhook.md), next to the kube-apiserver that calls it
 * on 127.0.0.1:6440.
 */
import { defaultImage, toYamlStream, type Manifest } from './documents.js';

export const DEFAULT_NAMESPACE = 'kube-api-auth';
export const APP_NAME = 'kube-api-auth';
/** Where the synced copy lives on the node, so a restarted pod serves before it can reach the gateway. */
export const HOST_STATE_DIR = '/var/lib/kube-api-auth';
// A fixed unprivileged uid: the state directory on the host is handed to it by the init container.
const RUN_AS = 65532;
const SECRET_MOUNT = '/etc/kube-api-auth';
const AGENT_TOKEN_KEY = 'agent-token';
const GATEWAY_CA_KEY = 'gateway-ca.crt';
export const AGENT_TOKEN_PLACEHOLDER = 'REPLACE-WITH-THE-AGENT-TOKEN-FROM-POST-/v1/clusters';

export interface KubeApiAuthOptions {
  clusterId: string;
  gateway: string;
  image?: string;
  namespace?: string;
  /** The cluster's agent token; without it the Secret holds a placeholder to replace. */
  agentToken?: string;
  /** PEM of the CA that signs the gateway's certificate, when it is not publicly trusted. */
  gatewayCaPem?: string;
}

const labels = { 'app.kubernetes.io/name': APP_NAME, 'app.kubernetes.io/part-of': 'kubegate' };

/** Control-plane nodes as the common distributions label them, never Windows nodes. */
export function controlPlaneAffinity() {
  const notWindows = { key: 'kubernetes.io/os', operator: 'NotIn', values: ['windows'] };
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          // RKE-style label.
          { matchExpressions: [notWindows, { key: 'node-role.kubernetes.io/controlplane', operator: 'In', values: ['true'] }] },
          // kubeadm, k3s and RKE2 set this label (value empty or "true").
          { matchExpressions: [notWindows, { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] },
        ],
      },
    },
  };
}

function daemonSet(o: Required<Omit<KubeApiAuthOptions, 'agentToken' | 'gatewayCaPem'>> & { withCa: boolean }) {
  const args = [
    'webhook',
    `--gateway=${o.gateway}`,
    `--cluster=${o.clusterId}`,
    `--agent-token-file=${SECRET_MOUNT}/${AGENT_TOKEN_KEY}`,
    '--listen=127.0.0.1:6440',
    `--state-dir=${HOST_STATE_DIR}`,
  ];
  if (o.withCa) args.push(`--gateway-ca-file=${SECRET_MOUNT}/${GATEWAY_CA_KEY}`);
  const dropAll = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: APP_NAME, namespace: o.namespace, labels },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': APP_NAME } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          // kube-apiserver calls 127.0.0.1:6440 in the node's network namespace.
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          affinity: controlPlaneAffinity(),
          // Control-plane nodes are tainted; the webhook must run wherever kube-apiserver does.
          tolerations: [{ operator: 'Exists' }],
          automountServiceAccountToken: false,
          // fsGroup makes the Secret's files readable by the webhook's group.
          securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: 'RuntimeDefault' } },
          initContainers: [
            {
              // kubelet creates the hostPath owned by root; hand it to the webhook's uid once.
              name: 'state-dir-owner',
              image: o.image,
              command: ['sh', '-c', `chown ${RUN_AS}:${RUN_AS} ${HOST_STATE_DIR} && chmod 0700 ${HOST_STATE_DIR}`],
              securityContext: { ...dropAll, runAsNonRoot: false, runAsUser: 0, capabilities: { drop: ['ALL'], add: ['CHOWN', 'FOWNER'] } },
              resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
              volumeMounts: [{ name: 'state', mountPath: HOST_STATE_DIR }],
            },
          ],
          containers: [
            {
              name: APP_NAME,
              image: o.image,
              command: ['kubegate'],
              args,
              securityContext: dropAll,
              resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              livenessProbe: {
                // 200 once a copy (synced or from the state dir) is loaded.
                httpGet: { host: '127.0.0.1', path: '/healthz', port: 6440, scheme: 'HTTP' },
                initialDelaySeconds: 10,
                periodSeconds: 10,
                failureThreshold: 6,
              },
              readinessProbe: { httpGet: { host: '127.0.0.1', path: '/healthz', port: 6440, scheme: 'HTTP' }, periodSeconds: 5 },
              volumeMounts: [
                { name: 'state', mountPath: HOST_STATE_DIR },
                { name: 'credentials', mountPath: SECRET_MOUNT, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'state', hostPath: { path: HOST_STATE_DIR, type: 'DirectoryOrCreate' } },
            { name: 'credentials', secret: { secretName: APP_NAME, defaultMode: 0o440 } },
          ],
        },
      },
    },
  };
}

/** The manifests, as one YAML stream. */
export function renderKubeApiAuth(options: KubeApiAuthOptions): string {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const image = options.image ?? defaultImage();
  const stringData: Record<string, string> = { [AGENT_TOKEN_KEY]: options.agentToken ?? AGENT_TOKEN_PLACEHOLDER };
  if (options.gatewayCaPem) stringData[GATEWAY_CA_KEY] = options.gatewayCaPem;
  const manifests: Manifest[] = [
    {
      comment: `kube-api-auth for cluster "${options.clusterId}": kubegate's TokenReview webhook on every control-plane node.
Apply with kubectl apply -f, then configure kube-apiserver with \`kubegate render webhook-config\`.`,
      value: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels } },
    },
    {
      comment: options.agentToken
        ? 'The agent token: the webhook\'s credential for the gateway\'s sync feed.'
        : `The agent token: replace ${AGENT_TOKEN_PLACEHOLDER} with the agentToken that POST /v1/clusters
returned for "${options.clusterId}" (or render again with --agent-token-file). The webhook
refuses to start with the placeholder.`,
      value: { apiVersion: 'v1', kind: 'Secret', metadata: { name: APP_NAME, namespace, labels }, type: 'Opaque', stringData },
    },
    { value: daemonSet({ clusterId: options.clusterId, gateway: options.gateway, image, namespace, withCa: Boolean(options.gatewayCaPem) }) },
  ];
  return toYamlStream(manifests);
}
