/**
 * kube-apiserver's TokenReview webhook authenticator (`--authentication-token-webhook-config-file`,
 * k8s.io/apiserver/plugin/pkg/authenticator/token/webhook): POST a TokenReview to the server of
 * a kubeconfig-format file and believe its `status`. Wire details kept because the kubegate
 * webhook must cope with them: `spec.audiences` is always sent (kube-apiserver always has API
 * audiences), the answer must be in the version asked for, and any transport or HTTP error
 * fails authentication (401) rather than falling through.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { TokenAuthenticator } from './token-authn.js';
import type { UserInfo } from './types.js';

export interface WebhookClientConfig {
  server: URL;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  insecureSkipTlsVerify: boolean;
  serverName?: string;
}

const USER_AGENT = 'kube-apiserver/v1.32.4 (linux/amd64) kubernetes/59526cd';
// client-go's webhook client gives up after 30 s (webhook.NewGenericWebhook).
const TIMEOUT_MS = 30_000;

type Yamlish = Record<string, unknown>;
const asRecord = (value: unknown): Yamlish => (value && typeof value === 'object' ? (value as Yamlish) : {});
const asString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const named = (list: unknown, name: string): Yamlish | undefined =>
  Array.isArray(list) ? (list.map(asRecord).find((entry) => entry.name === name) ?? undefined) : undefined;

/** Reads `data` (base64) or the file named by `file` (relative to the kubeconfig, as clientcmd does). */
const dataOrFile = (section: Yamlish, dataKey: string, fileKey: string, baseDir: string): string | undefined => {
  const data = asString(section[dataKey]);
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  const file = asString(section[fileKey]);
  return file ? readFileSync(resolve(baseDir, file), 'utf8') : undefined;
};

/**
 * Loads the webhook kubeconfig the way kube-apiserver does at startup (clientcmd, non-interactive):
 * cluster and user come from `current-context`; a file without a usable one stops the server
 * from starting, so it throws here.
 */
export const loadWebhookConfig = (file: string): WebhookClientConfig => {
  const doc = asRecord(parseYaml(readFileSync(file, 'utf8')));
  const contextName = asString(doc['current-context']);
  if (!contextName) throw new Error(`invalid webhook kubeconfig ${file}: no current-context (kube-apiserver would not start)`);
  const context = asRecord(named(doc.contexts, contextName)?.context);
  const clusterEntry = named(doc.clusters, asString(context.cluster) ?? '');
  if (!clusterEntry) throw new Error(`invalid webhook kubeconfig ${file}: context "${contextName}" names no known cluster`);
  const cluster = asRecord(clusterEntry.cluster);
  const user = asRecord(named(doc.users, asString(context.user) ?? '')?.user);
  const server = asString(cluster.server);
  if (!server) throw new Error(`invalid webhook kubeconfig ${file}: cluster has no server defined`);
  const baseDir = dirname(resolve(file));
  const config: WebhookClientConfig = {
    server: new URL(server),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
  const caPem = dataOrFile(cluster, 'certificate-authority-data', 'certificate-authority', baseDir);
  if (caPem && config.insecureSkipTlsVerify) {
    throw new Error(`invalid webhook kubeconfig ${file}: specifying a root certificates file with the insecure flag is not allowed`);
  }
  if (caPem) config.caPem = caPem;
  const certPem = dataOrFile(user, 'client-certificate-data', 'client-certificate', baseDir);
  const keyPem = dataOrFile(user, 'client-key-data', 'client-key', baseDir);
  if (certPem) config.certPem = certPem;
  if (keyPem) config.keyPem = keyPem;
  const token = asString(user.token) ?? (asString(user.tokenFile) ? readFileSync(resolve(baseDir, String(user.tokenFile)), 'utf8').trim() : undefined);
  if (token) config.token = token;
  const serverName = asString(cluster['tls-server-name']);
  if (serverName) config.serverName = serverName;
  return config;
};

interface HttpAnswer {
  status: number;
  body: string;
}

const post = (config: WebhookClientConfig, agent: http.Agent, body: string): Promise<HttpAnswer> =>
  new Promise((resolvePromise, reject) => {
    const isHttps = config.server.protocol === 'https:';
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/json, */*',
      'User-Agent': USER_AGENT,
      'Content-Length': String(Buffer.byteLength(body)),
    };
    if (config.token) headers.Authorization = `Bearer ${config.token}`;
    const options: https.RequestOptions = { method: 'POST', headers, agent, timeout: TIMEOUT_MS };
    if (isHttps) {
      if (config.caPem) options.ca = config.caPem;
      if (config.certPem) options.cert = config.certPem;
      if (config.keyPem) options.key = config.keyPem;
      if (config.serverName) options.servername = config.serverName;
      options.rejectUnauthorized = !config.insecureSkipTlsVerify;
    }
    const request = (isHttps ? https : http).request(config.server, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('webhook request timed out')));
    request.on('error', reject);
    request.end(body);
  });

export interface WebhookAuthenticatorSettings {
  version: () => 'v1' | 'v1beta1';
  audiences: () => string[];
}

/** The uncached webhook authenticator; `close()` drops its kept-alive connections. */
export const webhookTokenAuthenticator = (
  config: WebhookClientConfig,
  settings: WebhookAuthenticatorSettings,
): { authenticate: TokenAuthenticator; close(): void } => {
  const agent = new (config.server.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true });

  const authenticate: TokenAuthenticator = async (token) => {
    const apiVersion = `authentication.k8s.io/${settings.version()}`;
    const wantAudiences = settings.audiences();
    const spec: Record<string, unknown> = { token };
    if (wantAudiences.length > 0) spec.audiences = wantAudiences;
    // Serialised as client-go serialises a fresh TokenReview, empty metadata and status included.
    const review = { kind: 'TokenReview', apiVersion, metadata: { creationTimestamp: null }, spec, status: { user: {} } };
    const answer = await post(config, agent, JSON.stringify(review));
    if (answer.status < 200 || answer.status > 299) throw new Error(`webhook answered HTTP ${answer.status}`);

    const result = asRecord(JSON.parse(answer.body) as unknown);
    // client-go decodes into the requested version's type: another version or kind fails to decode.
    if (result.apiVersion !== undefined && result.apiVersion !== apiVersion) {
      throw new Error(`webhook answered ${String(result.apiVersion)}, asked for ${apiVersion}`);
    }
    if (result.kind !== undefined && result.kind !== 'TokenReview') throw new Error(`webhook answered kind ${String(result.kind)}`);

    const status = asRecord(result.status);
    if (wantAudiences.length > 0) {
      const got = Array.isArray(status.audiences) && status.audiences.length > 0 ? (status.audiences as string[]) : wantAudiences;
      if (!wantAudiences.some((audience) => got.includes(audience))) return null;
    }
    if (status.authenticated !== true) {
      if (asString(status.error)) throw new Error(String(status.error));
      return null;
    }
    const user = asRecord(status.user);
    const extra: Record<string, string[]> = {};
    for (const [key, values] of Object.entries(asRecord(user.extra))) if (Array.isArray(values)) extra[key] = values.map(String);
    const info: UserInfo = {
      username: typeof user.username === 'string' ? user.username : '',
      uid: typeof user.uid === 'string' ? user.uid : '',
      groups: Array.isArray(user.groups) ? user.groups.map(String) : [],
      extra,
    };
    return info;
  };

  return { authenticate, close: () => agent.destroy() };
};
