/** `kubegate cluster add`: imports a cluster kubectl can reach (src/onboard/cluster-add.ts). */
import { defineCommand, readSettings } from '../config/settings.js';
import { parseBaseUrl, parseClusterId, parseDnsLabel, parsePath, readCertificateFile, readTokenFile } from '../config/values.js';
import { promptCredentials } from '../credential-plugin/prompt.js';
import { apiMessage, gatewayApi, type GatewayApi } from '../demo/gateway-api.js';
import { ConfigError } from '../errors.js';
import { addCluster, StepError } from '../onboard/cluster-add.js';

export const spec = defineCommand({
  name: 'cluster add',
  usage: ['cluster add [--kubeconfig F] [--context C] [--id ID] [--gateway URL] [--admin-token-file F] [--agent]'],
  description: [
    'Imports a cluster you can reach with kubectl. With your kubeconfig credentials (used by kubectl',
    'only, never stored) it applies the impersonator manifests (`kubegate render impersonator`), takes',
    "the impersonator's token (its token Secret, else a TokenRequest), reads the server URL and CA",
    'from the kubeconfig and registers the cluster at the gateway; run again, it updates the same',
    'cluster. With --agent it registers an agent cluster (or rotates its agent token) and applies the',
    "agent's import manifests instead. Without --admin-token-file it logs in as KUBEGATE_USERNAME",
    '(default admin) with KUBEGATE_PASSWORD, or asks on the terminal.',
  ].join('\n'),
  settings: {
    kubeconfig: { flag: 'kubeconfig', help: "the kubeconfig with the cluster's admin credentials (default: kubectl's, $KUBECONFIG or ~/.kube/config)", parse: parsePath },
    context: { flag: 'context', help: "the kubeconfig context (default: its current context)" },
    id: { flag: 'id', help: "the cluster's id at the gateway (default: the context name as a DNS label)", parse: parseClusterId },
    name: { flag: 'name', help: "the cluster's display name (default: the id)" },
    gateway: { flag: 'gateway', env: 'KUBEGATE_GATEWAY', default: 'https://localhost:8443', help: "the gateway's URL", parse: parseBaseUrl },
    gatewayCa: { flag: 'gateway-ca-file', help: "CA certificate (PEM) of the gateway's certificate (e.g. certs/ca.crt); default: the system's", parse: readCertificateFile },
    adminToken: { flag: 'admin-token-file', help: "file holding an administrator's kubegate token", parse: readTokenFile },
    username: { env: 'KUBEGATE_USERNAME', default: 'admin', help: 'the administrator to log in as without --admin-token-file' },
    password: { env: 'KUBEGATE_PASSWORD', help: 'their password (else asked on the terminal)' },
    server: { flag: 'server', help: 'the URL the gateway reaches the API server at (default: the kubeconfig\'s)', parse: (n, raw) => parseBaseUrl(n, raw).href.replace(/\/$/, '') },
    namespace: { flag: 'namespace', default: 'kubegate', help: 'namespace of the impersonator ServiceAccount', parse: parseDnsLabel },
    agent: { flag: 'agent', boolean: true, help: 'connect the cluster through an agent (applies the agent manifests)' },
    tokenDuration: { flag: 'token-duration', default: '8760h', help: 'lifetime of a TokenRequest token, when no token controller fills the Secret (s, m, h or d; at least 10m)', parse: parseSeconds },
    kubectl: { flag: 'kubectl', default: 'kubectl', help: 'the kubectl binary' },
  },
});

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `8760h`, `365d`: whole seconds, at least 10 minutes (kube-apiserver refuses shorter TokenRequests). */
function parseSeconds(name: string, raw: string): number {
  const m = /^(\d{1,7})(s|m|h|d)$/.exec(raw.trim());
  if (!m) throw new ConfigError(`${name}: "${raw}" is not a duration like 8760h or 365d`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  if (seconds < 600) throw new ConfigError(`${name}: "${raw}" is shorter than 10m`);
  return seconds;
}

async function adminToken(api: GatewayApi, v: { adminToken?: string; username: string; password?: string }): Promise<{ token: string; loggedIn: boolean }> {
  if (v.adminToken) return { token: v.adminToken, loggedIn: false };
  const credentials = v.password ? { username: v.username, password: v.password } : await promptCredentials(api.url, { username: v.username });
  const res = await api.call('POST', '/v1/login', { body: { ...credentials, description: 'kubegate cluster add' } });
  if (res.status !== 201) throw new StepError('log in at the gateway', apiMessage(res), 'pass --admin-token-file, or set KUBEGATE_USERNAME and KUBEGATE_PASSWORD');
  return { token: res.body.token as string, loggedIn: true };
}

const TLS_HINT = /certificate|self.signed|UNABLE_TO_VERIFY/i;

export async function run(argv: string[]): Promise<number> {
  const v = readSettings(spec, argv, process.env);
  const say = (line: string): void => void process.stdout.write(`kubegate cluster add: ${line}\n`);
  const api = gatewayApi(v.gateway.href, v.gatewayCa);
  let session: { token: string; loggedIn: boolean } | undefined;
  try {
    try {
      session = await adminToken(api, v);
      const me = await api.call('GET', '/v1/me', { token: session.token });
      if (me.status !== 200) throw new StepError('log in at the gateway', apiMessage(me), 'the token in --admin-token-file may be expired or revoked');
      if (me.body.admin !== true) throw new StepError('log in at the gateway', `${me.body.username} is not an administrator`, 'use an administrator\'s token or login');
    } catch (err) {
      if (err instanceof StepError || err instanceof ConfigError) throw err;
      const message = (err as Error).message;
      throw new StepError('log in at the gateway', `${v.gateway.href}: ${message}`, TLS_HINT.test(message) ? "pass the gateway's CA with --gateway-ca-file (certs/ca.crt next to the gateway)" : 'is the gateway running there? (--gateway)');
    }
    const result = await addCluster({
      kubectl: { bin: v.kubectl, kubeconfig: v.kubeconfig, context: v.context },
      id: v.id,
      name: v.name,
      server: v.server,
      namespace: v.namespace,
      agent: v.agent === true,
      tokenSeconds: v.tokenDuration,
      tokenWaitMs: 10_000,
      api,
      adminToken: session.token,
      say,
    });
    const s = result.status;
    process.stdout.write(
      [
        '',
        `Cluster ${result.id}: ${s?.state ?? 'status not reported yet'}${s?.message ? ` (${s.message})` : ''}`,
        'Next:',
        `  add members:           the web UI (${api.url}/) → Clusters → ⋮ → Members, or PUT ${api.url}/v1/clusters/${result.id}/members`,
        `  download a kubeconfig: the web UI → ⋮ → Download KubeConfig, or POST ${api.url}/v1/clusters/${result.id}/kubeconfig`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    if (!(err instanceof StepError)) throw err;
    process.stderr.write(`kubegate cluster add: step "${err.step}" failed: ${err.message}${err.hint ? `; ${err.hint}` : ''}\n`);
    return 1;
  } finally {
    if (session?.loggedIn) await api.call('POST', '/v1/logout', { token: session.token }).catch(() => undefined);
  }
}
