/**
 * `kubegate agent --manage-rbac`: keeps the cluster's role bindings what the gateway says
 * (docs/reference/identity.md). Every `--rbac-interval` it reads `GET /v1/clusters/{id}/rbac` with
 * the agent token, lists the ClusterRoleBindings labelled `kubegate.io/role-binding=true` with
 * its ServiceAccount, and creates the missing, replaces the changed (a roleRef cannot change in
 * place: delete, then create) and deletes the ones no role names any more. Bindings without the
 * label are never touched. A failed round is logged and tried again next time.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Agent, request, type Dispatcher } from 'undici';
import { RBAC_MANAGED_LABEL, roleBinding } from '../render/rbac.js';
import type { AgentConfig } from './config.js';
import type { KubeCredentials } from './kube-credentials.js';

const BINDINGS_PATH = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';

interface Wanted {
  role: string;
  group: string;
  clusterRole: string;
}

interface Existing {
  metadata: { name: string };
  roleRef?: { name?: string };
  subjects?: Array<{ kind?: string; name?: string }>;
}

export interface ReconcileResult {
  created: string[];
  replaced: string[];
  deleted: string[];
}

export class RbacReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly gatewayClient: Dispatcher;
  private kubeClient: { ca: string; agent: Dispatcher } | undefined;

  constructor(
    private readonly config: Pick<AgentConfig, 'gateway' | 'clusterId' | 'tokenFile' | 'gatewayCaPem'>,
    private readonly credentials: Pick<KubeCredentials, 'state'>,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    this.gatewayClient = new Agent(config.gatewayCaPem ? { connect: { ca: config.gatewayCaPem } } : {});
  }

  start(): void {
    const round = () => {
      this.running = this.reconcile().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not reconcile the role bindings'));
      void this.running.finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(round, this.intervalMs).unref();
      });
    };
    this.timer = setTimeout(round, 0).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.gatewayClient.close();
    await this.kubeClient?.agent.close();
  }

  /** One round: what the gateway wants, against what the cluster has. */
  async reconcile(): Promise<ReconcileResult> {
    const wanted = await this.wanted();
    const existing = new Map((await this.existing()).map((b) => [b.metadata.name, b]));
    const result: ReconcileResult = { created: [], replaced: [], deleted: [] };
    for (const w of wanted) {
      const name = w.group;
      const have = existing.get(name);
      existing.delete(name);
      const same = have?.roleRef?.name === w.clusterRole && have.subjects?.length === 1 && have.subjects[0]?.kind === 'Group' && have.subjects[0]?.name === w.group;
      if (have && same) continue;
      if (have) await this.kube('DELETE', `${BINDINGS_PATH}/${encodeURIComponent(name)}`);
      await this.kube('POST', BINDINGS_PATH, roleBinding(w.role, w.clusterRole));
      (have ? result.replaced : result.created).push(name);
    }
    for (const name of existing.keys()) {
      await this.kube('DELETE', `${BINDINGS_PATH}/${encodeURIComponent(name)}`);
      result.deleted.push(name);
    }
    if (result.created.length + result.replaced.length + result.deleted.length > 0) this.log.info(result, 'role bindings reconciled');
    return result;
  }

  private async wanted(): Promise<Wanted[]> {
    const token = (await readFile(this.config.tokenFile, 'utf8')).trim();
    const url = new URL(`v1/clusters/${encodeURIComponent(this.config.clusterId)}/rbac`, `${this.config.gateway.href.replace(/\/?$/, '/')}`);
    const res = await request(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, dispatcher: this.gatewayClient });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`the gateway answered ${res.statusCode} for the role bindings`);
    return (JSON.parse(text) as { bindings: Wanted[] }).bindings;
  }

  private async existing(): Promise<Existing[]> {
    const selector = encodeURIComponent(`${RBAC_MANAGED_LABEL}=true`);
    const list = (await this.kube('GET', `${BINDINGS_PATH}?labelSelector=${selector}`)) as { items?: Existing[] };
    return list.items ?? [];
  }

  /** A call to the local kube-apiserver as the agent's ServiceAccount. */
  private async kube(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const state = this.credentials.state;
    const ca = Buffer.from(state.caData, 'base64').toString('utf8');
    if (this.kubeClient?.ca !== ca) {
      await this.kubeClient?.agent.close();
      this.kubeClient = { ca, agent: new Agent({ connect: { ca } }) };
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${state.token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await request(`${state.server}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), dispatcher: this.kubeClient.agent });
    const text = await res.body.text();
    // A binding deleted meanwhile is as good as deleted.
    if (method === 'DELETE' && res.statusCode === 404) return undefined;
    if (res.statusCode >= 300) throw new Error(`${method} ${path.split('?')[0]}: the kube-apiserver answered ${res.statusCode} ${text.slice(0, 300)}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }
}
