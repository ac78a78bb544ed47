/**
 * `kubegate agent` configuration: its settings table, read and validated once here (files
 * included, so a bad path exits 2 at start). Inside a cluster the local kube-apiserver comes from
 * the in-cluster environment (`KUBERNETES_SERVICE_HOST`/`_PORT` and the mounted ServiceAccount
 * token and CA); outside one, from `--kube-api`, `--kube-token-file` and `--kube-ca-file`.
 */
import { hostname } from 'node:os';
import { defineCommand, readSettings, settingName } from '../config/settings.js';
import {
  parseBaseUrl,
  parseClusterId,
  parseDuration,
  parseListen,
  parseLogLevel,
  parsePath,
  readCertificateFile,
  readTextFile,
  readTokenFile,
  type ListenAddress,
} from '../config/values.js';
import { ConfigError } from '../errors.js';

/** Where the kubelet mounts a pod's ServiceAccount token and the cluster CA. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface AgentConfig {
  gateway: URL;
  clusterId: string;
  /** The file with the agent token: re-read before every reconnect (a rotated Secret is picked up). */
  tokenFile: string;
  gatewayCaPem: string | undefined;
  /** The local kube-apiserver: the only place the agent ever connects to for the gateway. */
  kubeApi: URL;
  /** Re-read when they change (the kubelet rotates the token). */
  kubeTokenFile: string;
  kubeCaFile: string;
  healthListen: ListenAddress;
  /** How often the ServiceAccount token and CA files are read again. */
  rereadMs: number;
  agentId: string;
  logLevel: string;
  /** Keep the cluster's role bindings what the gateway says (`--manage-rbac`), this often; undefined: off. */
  manageRbacEveryMs: number | undefined;
}

/** `kubegate agent` and its settings. */
export const AGENT_COMMAND = defineCommand({
  name: 'agent',
  usage: ['agent --gateway URL --cluster ID --token-file F [flags]'],
  description: [
    "Runs in a cluster and connects it to the gateway: dials the gateway over TLS, authenticates with the",
    "cluster's agent token, and carries the gateway's requests to the local kube-apiserver as its own",
    'ServiceAccount (which may only impersonate). Reconnects by itself; /healthz and /readyz on --health-listen.',
  ].join('\n'),
  settings: {
    gateway: { flag: 'gateway', env: 'KUBEGATE_GATEWAY', required: true, help: 'the gateway URL, e.g. https://kubegate.example.com', parse: parseBaseUrl },
    cluster: { flag: 'cluster', env: 'KUBEGATE_CLUSTER', required: true, help: "this cluster's id at the gateway", parse: parseClusterId },
    tokenFile: { flag: 'token-file', env: 'KUBEGATE_AGENT_TOKEN_FILE', required: true, help: "file holding the cluster's agent token", parse: parsePath },
    gatewayCa: { flag: 'gateway-ca-file', env: 'KUBEGATE_GATEWAY_CA_FILE', help: "CA certificate (PEM) that signs the gateway's certificate", parse: readCertificateFile },
    kubeApi: { flag: 'kube-api', env: 'KUBEGATE_KUBE_API', help: 'the kube-apiserver URL, outside a cluster (else the in-cluster service)', parse: parseBaseUrl },
    kubeTokenFile: { flag: 'kube-token-file', env: 'KUBEGATE_KUBE_TOKEN_FILE', default: `${SERVICE_ACCOUNT_DIR}/token`, help: 'the ServiceAccount token the agent presents to the kube-apiserver', parse: parsePath },
    kubeCaFile: { flag: 'kube-ca-file', env: 'KUBEGATE_KUBE_CA_FILE', default: `${SERVICE_ACCOUNT_DIR}/ca.crt`, help: "the CA of the kube-apiserver's certificate", parse: parsePath },
    healthListen: { flag: 'health-listen', env: 'KUBEGATE_HEALTH_LISTEN', default: '0.0.0.0:8440', help: 'address of /healthz and /readyz (the Deployment probes them)', parse: parseListen },
    reread: { flag: 'credentials-reread', env: 'KUBEGATE_CREDENTIALS_REREAD', default: '10s', help: 'how often the ServiceAccount token and CA files are read again (the kubelet rotates the token)', parse: parseDuration },
    agentId: { flag: 'agent-id', env: 'KUBEGATE_AGENT_ID', help: 'the name the gateway shows for this agent (default: the host name, the pod name in a cluster)' },
    logLevel: { flag: 'log-level', env: 'KUBEGATE_LOG_LEVEL', default: 'info', help: 'trace, debug, info, warn, error', parse: parseLogLevel },
    manageRbac: {
      flag: 'manage-rbac',
      env: 'KUBEGATE_MANAGE_RBAC',
      boolean: true,
      help: "keep the ClusterRoleBindings of kubegate's roles (kubegate render rbac) what the gateway says, as the agent's ServiceAccount",
    },
    rbacInterval: { flag: 'rbac-interval', env: 'KUBEGATE_RBAC_INTERVAL', default: '10s', help: 'how often the role bindings are compared with the gateway (with --manage-rbac)', parse: parseDuration },
    serviceHost: { env: 'KUBERNETES_SERVICE_HOST', help: 'set by Kubernetes in every pod: the kube-apiserver service address' },
    servicePort: { env: 'KUBERNETES_SERVICE_PORT', default: '443', help: 'set by Kubernetes in every pod: the kube-apiserver service port' },
  },
});

/** The kube-apiserver URL from the in-cluster environment. */
function inClusterApi(host: string | undefined, port: string): URL {
  const s = AGENT_COMMAND.settings;
  if (!host) {
    throw new ConfigError(`${settingName(s.kubeApi)} is required outside a cluster (${s.serviceHost.env} is not set)`);
  }
  if (!/^\d{1,5}$/.test(port)) throw new ConfigError(`${s.servicePort.env}: "${port}" is not a port`);
  return new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
}

/** Parses `kubegate agent` flags and environment. */
export function loadAgentConfig(argv: readonly string[], env: NodeJS.ProcessEnv): AgentConfig {
  const v = readSettings(AGENT_COMMAND, argv, env);
  const s = AGENT_COMMAND.settings;
  // Read each file once now: a wrong path is a start-up error, not a reconnect loop.
  readTokenFile(settingName(s.tokenFile), v.tokenFile);
  readTextFile(settingName(s.kubeTokenFile), v.kubeTokenFile);
  readCertificateFile(settingName(s.kubeCaFile), v.kubeCaFile);
  const kubeApi = v.kubeApi ?? inClusterApi(v.serviceHost, v.servicePort);
  if (kubeApi.protocol !== 'https:') throw new ConfigError(`${settingName(s.kubeApi)}: must be an https:// URL`);
  return {
    gateway: v.gateway,
    clusterId: v.cluster,
    tokenFile: v.tokenFile,
    gatewayCaPem: v.gatewayCa,
    kubeApi,
    kubeTokenFile: v.kubeTokenFile,
    kubeCaFile: v.kubeCaFile,
    healthListen: v.healthListen,
    rereadMs: Math.max(100, v.reread),
    agentId: (v.agentId ?? hostname()).slice(0, 253),
    logLevel: v.logLevel,
    manageRbacEveryMs: v.manageRbac ? Math.max(100, v.rbacInterval) : undefined,
  };
}
