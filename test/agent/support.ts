/** A gateway with an agent cluster `edge` whose kube-apiserver (the double) only its agent can reach. */
import { call, createUser, login, ADMIN_PASSWORD, reachablePublicUrlFlags, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startIsolatedCluster, type IsolatedCluster } from '../support/isolated-cluster.js';
import { pollUntil } from '../scaleout/support.js';

export interface AgentWorld {
  gw: TestGateway;
  cluster: IsolatedCluster;
  admin: string;
  agentToken: string;
  importUrl: string;
  alice: { token: string };
  stop(): Promise<void>;
}

/** Waits until the cluster's status says its agent is `state` (on `gw`); throws after `timeoutMs`. */
export async function waitForState(gw: Pick<TestGateway, 'url' | 'agent'>, admin: string, state: 'Connected' | 'Disconnected', timeoutMs = 10_000) {
  const r = await pollUntil(() => call(gw, 'GET', '/v1/clusters/edge', { token: admin }), (x) => x.body?.status?.agent?.connected === (state === 'Connected'), { timeoutMs });
  if (!r.ok) throw new Error(`cluster edge never became ${state}: ${r.value.text}`);
  return r.value.body.status;
}

/** Registers `edge` with `connection: agent`; starts the isolated cluster (no agent yet unless `startAgent`). */
export async function startAgentWorld(options: { startAgent?: boolean; flags?: string[] } = {}): Promise<AgentWorld> {
  const gw = await startTestGateway([...(await reachablePublicUrlFlags()), ...(options.flags ?? [])]);
  const admin = await login(gw, 'admin', ADMIN_PASSWORD);
  const reg = await call(gw, 'POST', '/v1/clusters', { token: admin, body: { id: 'edge', connection: 'agent' } });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
  await createUser(gw, admin, { username: 'alice', password: 'alice-password', groups: ['dev'] });
  await call(gw, 'PUT', '/v1/clusters/edge/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });
  const alice = { token: await login(gw, 'alice', 'alice-password') };
  const cluster = await startIsolatedCluster([Number(new URL(gw.url).port)]);
  const world: AgentWorld = {
    gw,
    cluster,
    admin,
    agentToken: reg.body.agentToken,
    importUrl: reg.body.importUrl,
    alice,
    async stop() {
      await cluster.stop();
      await gw.stop();
    },
  };
  if (options.startAgent !== false) {
    await cluster.startAgent('agent-a', { gateway: gw.url, agentToken: world.agentToken, gatewayCaPem: gw.caPem, flags: ['--credentials-reread', '200ms'] });
    await waitForState(gw, admin, 'Connected');
  }
  return world;
}
