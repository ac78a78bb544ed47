/**
 * `kubegate cluster add` (docs/reference/commands.md): imports a cluster the user can already reach
 * with kubectl. Direct: apply `render impersonator` with the user's admin credentials (never
 * stored), take the impersonator's token (its token Secret, else a TokenRequest), read the server
 * URL and CA from the kubeconfig, register or update the cluster at the gateway. Agent: register an
 * agent cluster (or rotate its token) and apply its import manifests. Each step says what it did;
 * a failure names its step and what to do (`StepError`).
 */
import { renderImpersonator } from '../render/impersonator.js';
import { apiMessage, type GatewayApi } from '../demo/gateway-api.js';
import { kubectlError, runKubectl, type KubectlTarget } from './kubectl.js';

export const IMPERSONATOR = 'kubegate-impersonator';
export const IMPERSONATOR_SECRET = 'kubegate-impersonator-token';

export interface ClusterAddOptions {
  kubectl: KubectlTarget;
  /** The id at the gateway; undefined: from the context's name. */
  id: string | undefined;
  name: string | undefined;
  /** The URL the gateway should use; undefined: the kubeconfig's. */
  server: string | undefined;
  namespace: string;
  agent: boolean;
  /** How long a TokenRequest token lives (seconds), when the token controller fills no Secret. */
  tokenSeconds: number;
  /** How long to wait for the token controller (ms). */
  tokenWaitMs: number;
  api: GatewayApi;
  /** An administrator's token at the gateway. */
  adminToken: string;
  say(line: string): void;
}

export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface ClusterAddResult {
  id: string;
  created: boolean;
  status: { state?: string; message?: string } | undefined;
  /** Agent clusters: the import URL applied (one use). */
  importApplied?: boolean;
}

interface KubeconfigCluster {
  context: string;
  server: string;
  caData: string | undefined;
  insecureSkipTLSVerify: boolean;
}

/** A context name as a cluster id: a DNS-1123 label (kind-kind, k3d-dev, minikube). */
export function idFromContext(context: string): string | undefined {
  const id = context
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return id || undefined;
}

async function readKubeconfig(target: KubectlTarget): Promise<KubeconfigCluster> {
  const step = 'read the cluster from the kubeconfig';
  const r = await runKubectl(target, ['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json'], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new StepError(step, kubectlError(r), 'check --kubeconfig and --context (kubectl config get-contexts lists them)');
  const doc = JSON.parse(r.stdout) as {
    'current-context'?: string;
    clusters?: Array<{ cluster?: { server?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean } }>;
  };
  const cluster = doc.clusters?.[0]?.cluster;
  if (!cluster?.server) throw new StepError(step, 'the context names no cluster with a server', 'pick a context with --context');
  return {
    context: target.context ?? doc['current-context'] ?? '',
    server: cluster.server,
    caData: cluster['certificate-authority-data'],
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
  };
}

async function applyManifests(target: KubectlTarget, yaml: string, step: string): Promise<void> {
  const r = await runKubectl(target, ['apply', '-f', '-'], { input: yaml });
  if (r.code !== 0) {
    const refused = /provide credentials|Unauthorized|must be logged in/i.test(r.stderr);
    throw new StepError(
      step,
      kubectlError(r),
      refused
        ? 'the cluster refused the kubeconfig\'s credentials (try kubectl get ns with the same --kubeconfig and --context)'
        : 'your kubeconfig user must be allowed to create namespaces, ServiceAccounts, Secrets and cluster-wide RBAC (cluster-admin)',
    );
  }
}

/** The impersonator's token: the token controller's Secret, else a TokenRequest. */
async function impersonatorToken(o: ClusterAddOptions): Promise<{ token: string; source: string }> {
  const step = "obtain the impersonator's token";
  const deadline = Date.now() + o.tokenWaitMs;
  for (;;) {
    const r = await runKubectl(o.kubectl, ['-n', o.namespace, 'get', 'secret', IMPERSONATOR_SECRET, '-o', 'jsonpath={.data.token}'], { timeoutMs: 15_000 });
    if (r.code !== 0) throw new StepError(step, kubectlError(r));
    const token = Buffer.from(r.stdout.trim(), 'base64').toString('utf8');
    if (token) return { token, source: `from Secret ${o.namespace}/${IMPERSONATOR_SECRET}` };
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // No token controller filled the Secret (some distributions turn it off): ask the TokenRequest API.
  const r = await runKubectl(o.kubectl, ['-n', o.namespace, 'create', 'token', IMPERSONATOR, `--duration=${o.tokenSeconds}s`], { timeoutMs: 15_000 });
  if (r.code !== 0 || !r.stdout.trim()) throw new StepError(step, kubectlError(r), 'the Secret stayed empty and the TokenRequest failed; check that the ServiceAccount exists');
  const until = new Date(Date.now() + o.tokenSeconds * 1000).toISOString().slice(0, 10);
  return { token: r.stdout.trim(), source: `from a TokenRequest (the Secret stayed empty), valid until about ${until}: run cluster add again before then` };
}

async function existing(o: ClusterAddOptions, id: string): Promise<{ connection: string } | undefined> {
  const list = await o.api.call('GET', '/v1/clusters', { token: o.adminToken });
  if (list.status !== 200) throw new StepError('register the cluster at the gateway', apiMessage(list));
  return (list.body.items as Array<{ id: string; connection: string }>).find((c) => c.id === id);
}

async function statusOf(o: ClusterAddOptions, id: string): Promise<ClusterAddResult['status']> {
  const res = await o.api.call('GET', `/v1/clusters/${id}`, { token: o.adminToken });
  return res.status === 200 ? res.body.status : undefined;
}

export async function addCluster(o: ClusterAddOptions): Promise<ClusterAddResult> {
  const total = 4;
  let n = 0;
  const done = (what: string) => o.say(`${++n}/${total} ${what}`);
  const run = async <T>(step: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof StepError) throw err;
      throw new StepError(step, (err as Error).message);
    }
  };

  const kc = await run('read the cluster from the kubeconfig', () => readKubeconfig(o.kubectl));
  const id = o.id ?? idFromContext(kc.context);
  if (!id) throw new StepError('read the cluster from the kubeconfig', `cannot make a cluster id from context "${kc.context}"`, 'pass --id');
  done(`context ${kc.context}: ${kc.server}`);

  const found = await run('register the cluster at the gateway', () => existing(o, id));
  if (found && found.connection !== (o.agent ? 'agent' : 'direct')) {
    throw new StepError('register the cluster at the gateway', `cluster ${id} exists as ${found.connection === 'agent' ? 'an agent' : 'a direct'} cluster`, 'pass another --id, or delete it first');
  }

  if (o.agent) {
    const step = 'register the agent cluster at the gateway';
    const res = await run(step, () =>
      found
        ? o.api.call('POST', `/v1/clusters/${id}/agent-token`, { token: o.adminToken })
        : o.api.call('POST', '/v1/clusters', { token: o.adminToken, body: { id, ...(o.name ? { name: o.name } : {}), connection: 'agent' } }),
    );
    if (res.status !== 201) throw new StepError(step, apiMessage(res));
    done(found ? `cluster ${id} exists: rotated its agent token (the old agent's connection is dropped)` : `registered agent cluster ${id}`);
    const importUrl = new URL(res.body.importUrl as string);
    const manifests = await run('fetch the agent manifests', () => o.api.call('GET', importUrl.pathname, {}));
    if (manifests.status !== 200) throw new StepError('fetch the agent manifests', apiMessage(manifests));
    done('fetched the agent manifests (one-use import URL)');
    await run('apply the agent manifests', () => applyManifests(o.kubectl, manifests.text, 'apply the agent manifests'));
    done('applied the agent manifests: the agent connects to the gateway once its Deployment runs');
    return { id, created: !found, status: await statusOf(o, id), importApplied: true };
  }

  await run('apply the impersonator manifests', () => applyManifests(o.kubectl, renderImpersonator({ namespace: o.namespace }), 'apply the impersonator manifests'));
  done(`applied the impersonator manifests (namespace ${o.namespace}, ServiceAccount ${IMPERSONATOR}, its ClusterRole and binding)`);

  const { token, source } = await run("obtain the impersonator's token", () => impersonatorToken(o));
  done(`impersonator token ${source}`);

  const step = 'register the cluster at the gateway';
  const spec = {
    ...(o.name ? { name: o.name } : {}),
    server: o.server ?? kc.server,
    ...(kc.caData ? { caData: kc.caData } : {}),
    ...(kc.insecureSkipTLSVerify ? { insecureSkipTLSVerify: true } : {}),
    credential: { token },
  };
  const res = await run(step, () =>
    found ? o.api.call('PATCH', `/v1/clusters/${id}`, { token: o.adminToken, body: spec }) : o.api.call('POST', '/v1/clusters', { token: o.adminToken, body: { id, ...spec } }),
  );
  if (res.status !== (found ? 200 : 201)) throw new StepError(step, apiMessage(res), found ? undefined : 'fix the value it names (--server, --id, --name) and run it again');
  done(found ? `cluster ${id} existed: updated its server, CA and credential` : `registered cluster ${id} at ${o.api.url}`);
  return { id, created: !found, status: await statusOf(o, id) };
}
