/**
 * A kube-apiserver test double: HTTPS on 127.0.0.1 with its own CA, the authentication,
 * impersonation and streaming behaviour a gateway in front of kube-apiserver depends on, and a
 * record of every request as it arrived. See README.md for what is faithful and what is not.
 */
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createCertificateAuthority, type KeyPairPem } from './certs.js';
import type { ResolvedOptions } from './context.js';
import { handleRequest, handleUpgrade, type PipelineDeps } from './pipeline.js';
import { seedPod } from './pods.js';
import { applyRbacManifests, rbacDecision, seedBootstrapPolicy } from './rbac.js';
import { renderImpersonator } from '../../render/impersonator.js';
import { ObjectStore } from './store.js';
import { serviceAccountTokenAuthenticator } from './service-account-tokens.js';
import { StreamTracker } from './streams.js';
import { cachedTokenAuthenticator } from './token-cache.js';
import { GATEWAY_USER, gatewayTokenAuthenticator, staticTokenAuthenticator, unionTokenAuthenticator, type TokenAuthenticator } from './token-authn.js';
import type { AuthorizationAttributes, KubeDoubleOptions, RecordedRequest, UserInfo } from './types.js';
import { loadWebhookConfig, webhookTokenAuthenticator } from './webhook-authn.js';

export type { AuthorizationAttributes, KubeDoubleOptions, KubeObject, RecordedRequest, StaticTokenUser, UserInfo } from './types.js';
export { GATEWAY_USER } from './token-authn.js';
export type { KeyPairPem } from './certs.js';
export type { ObjectStore } from './store.js';
export { writeKubeconfig, renderKubeconfig, type KubeconfigOptions } from './kubeconfig.js';

export interface KubeDouble {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The CA that signed the serving certificate and client certificates (PEM). */
  caPem: string;
  /** The bearer token that authenticates as the gateway's service account. */
  gatewayToken: string;
  /** Who the gateway token (or a client certificate with that CN) authenticates as. */
  gatewayUser: UserInfo;
  /** Every request, in arrival order; entries fill in as the request proceeds. */
  requests: RecordedRequest[];
  /** kubegate's health probes (User-Agent `kubegate-health-probe`), kept out of `requests`. */
  probes: RecordedRequest[];
  clearRequests(): void;
  /** A client certificate signed by the double's CA: CN is the username, each O a group. */
  issueClientCert(cn: string, orgs?: string[]): Promise<KeyPairPem>;
  /** Open watch, followed-log, exec and SPDY streams (0 when nothing leaked). */
  activeStreams(): number;
  /** Changes options at run time (`webhookConfigFile` and `rbacManifests` are only read at start). */
  setOptions(partial: Partial<KubeDoubleOptions>): void;
  /** The objects served; tests may seed or inspect them directly. */
  store: ObjectStore;
  /** Stores (replaces) the ClusterRoles and ClusterRoleBindings of a YAML stream, as `kubectl apply` would. */
  applyRbac(yamlStream: string): string[];
  /** What the stored RBAC policy answers for `attributes` (the double's SubjectAccessReview). */
  can(attributes: AuthorizationAttributes): boolean;
  /** Ends every stream and connection and stops listening. */
  stop(): Promise<void>;
}

const DEFAULT_AUDIENCES = ['https://kubernetes.default.svc.cluster.local'];

const resolveOptions = (options: KubeDoubleOptions, gatewayToken: string): ResolvedOptions => ({
  webhookConfigFile: options.webhookConfigFile,
  webhookVersion: options.webhookVersion ?? 'v1',
  webhookCacheTtlMs: options.webhookCacheTtlMs ?? 2000,
  apiAudiences: options.apiAudiences ?? DEFAULT_AUDIENCES,
  authorizationMode: options.authorizationMode ?? 'AlwaysAllow',
  staticTokens: options.staticTokens,
  refuseUpgrades: options.refuseUpgrades ?? false,
  logFollowIntervalMs: options.logFollowIntervalMs ?? 200,
  authorize: options.authorize,
  gatewayToken: options.gatewayToken ?? gatewayToken,
  tokenController: options.tokenController ?? true,
  watchHistoryLimit: options.watchHistoryLimit ?? 1000,
});

/** The namespaces every cluster starts with, and the pod `default/web-0`. */
const seed = (store: ObjectStore): void => {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    store.create({ group: '', resource: 'namespaces' }, {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  store.create({ group: '', resource: 'pods' }, seedPod());
};

/** Starts a double on 127.0.0.1, on `listen.port` (`kubegate demo`) or a random port. */
export async function startKubeDouble(options: KubeDoubleOptions = {}, listen: { port?: number } = {}): Promise<KubeDouble> {
  const pki = await createCertificateAuthority();
  let raw: KubeDoubleOptions = { ...options };
  let resolved = resolveOptions(raw, randomBytes(32).toString('base64url'));
  const generatedToken = resolved.gatewayToken;
  const current = (): ResolvedOptions => resolved;

  // Read once, as kube-apiserver reads --authentication-token-webhook-config-file at startup.
  const webhook = resolved.webhookConfigFile
    ? webhookTokenAuthenticator(loadWebhookConfig(resolved.webhookConfigFile), {
        version: () => current().webhookVersion,
        audiences: () => current().apiAudiences,
      })
    : undefined;
  const chain: TokenAuthenticator[] = [
    staticTokenAuthenticator(() => current().staticTokens),
    gatewayTokenAuthenticator(() => current().gatewayToken),
  ];
  const store = new ObjectStore(() => current().watchHistoryLimit);
  chain.push(serviceAccountTokenAuthenticator(store));
  if (webhook) {
    chain.push(cachedTokenAuthenticator(webhook.authenticate, () => current().webhookCacheTtlMs, () => current().apiAudiences));
  }

  seed(store);
  seedBootstrapPolicy(store);
  applyRbacManifests(store, options.rbacManifests ?? renderImpersonator());
  const streams = new StreamTracker();
  const requests: RecordedRequest[] = [];
  const probes: RecordedRequest[] = [];
  let url = '';
  const deps: PipelineDeps = { store, streams, options: current, url: () => url, requests, probes, tokens: unionTokenAuthenticator(chain) };

  const server = https.createServer({
    key: pki.serving.keyPem,
    cert: pki.serving.certPem,
    ca: [pki.caPem],
    // Ask for client certificates but let the request through without one; authn.ts checks
    // `socket.authorized` (kube-apiserver's tls.RequestClientCert + x509 authenticator).
    requestCert: true,
    rejectUnauthorized: false,
    // Go's http.Server default (MaxHeaderBytes = 1 MiB): kube-apiserver takes large headers.
    maxHeaderSize: 1 << 20,
  });
  // kube-apiserver's http.Server: IdleTimeout 90 s, ReadHeaderTimeout 32 s.
  server.keepAliveTimeout = 90_000;
  server.headersTimeout = 32_000;
  const sockets = new Set<Duplex>();
  server.on('connection', (socket: Duplex) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req, res) => void handleRequest(deps, req, res));
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => void handleUpgrade(deps, req, socket, head));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = `https://127.0.0.1:${port}`;

  return {
    url,
    port,
    caPem: pki.caPem,
    get gatewayToken() {
      return current().gatewayToken;
    },
    gatewayUser: structuredClone(GATEWAY_USER),
    requests,
    probes,
    clearRequests: () => {
      requests.length = 0;
      probes.length = 0;
    },
    issueClientCert: (cn, orgs) => pki.issueClientCert(cn, orgs),
    activeStreams: () => streams.count(),
    setOptions: (partial) => {
      raw = { ...raw, ...partial };
      resolved = resolveOptions(raw, generatedToken);
    },
    store,
    applyRbac: (yamlStream) => applyRbacManifests(store, yamlStream),
    can: (attributes) => rbacDecision(store, attributes).allowed,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      streams.closeAll();
      for (const socket of sockets) socket.destroy();
      webhook?.close();
      await closed;
    },
  };
}
