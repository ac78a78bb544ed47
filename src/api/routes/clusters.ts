/** `GET/POST /v1/clusters`, `GET/PATCH/DELETE /v1/clusters/{id}` (docs/reference/api.md). Credentials are never returned. */
import { Router, type Request } from 'express';
import { badRequest, notFound } from '../../errors.js';
import type { AuthorizedEndpoint, Cluster, ClusterPatch } from '../../store/store.js';
import { clusterStatus } from '../agent-status.js';
import { CreateAgentClusterSchema, CreateClusterSchema, PatchAgentClusterSchema, PatchClusterSchema } from '../cluster-schema.js';
import { rolesOn } from '../../auth/cluster-access.js';
import { reachableCluster } from '../cluster-access.js';
import type { ApiContext } from '../context.js';
import { importUrl, newImport } from '../import-seal.js';
import { adminOf, userOf } from '../request-identity.js';
import { parseBody } from '../validate.js';
import { clusterView } from './views.js';

function issueAgentToken(ctx: ApiContext, clusterId: string) {
  return ctx.tokens.issue({ kind: 'agent', userId: null, clusterId, description: `agent for ${clusterId}` });
}

/** A new one-use import URL for an agent cluster, carrying `agentToken`; replaces any earlier one. */
async function offerImport(ctx: ApiContext, clusterId: string, agentToken: string) {
  const { secret, pending } = newImport(clusterId, agentToken);
  await ctx.store.setClusterImport(clusterId, pending);
  const url = importUrl(ctx.publicUrl, clusterId, secret);
  return { import: `kubectl apply -f '${url}'`, importUrl: url, importExpiresAt: pending.expiresAt.toISOString() };
}

function endpointOf(body: { authorizedEndpoint?: Partial<AuthorizedEndpoint> & { enabled: boolean } }): AuthorizedEndpoint {
  const ace = body.authorizedEndpoint;
  const endpoint: AuthorizedEndpoint = { enabled: ace?.enabled ?? false, fqdn: ace?.fqdn, caData: ace?.caData, controlPlaneNodes: ace?.controlPlaneNodes ?? [] };
  if (ace?.fqdnCaData !== undefined) endpoint.fqdnCaData = ace.fqdnCaData;
  if (ace?.kubeconfigDefaultContext !== undefined) endpoint.kubeconfigDefaultContext = ace.kubeconfigDefaultContext;
  return endpoint;
}

/** What a registration stores: a direct cluster with its server and credential, or an agent cluster with neither. */
function newCluster(req: Request): Omit<Cluster, 'createdAt' | 'updatedAt'> {
  const body = req.body as { connection?: unknown } | undefined;
  if (body?.connection === 'agent') {
    const a = parseBody(req, CreateAgentClusterSchema);
    return { id: a.id, name: a.name ?? a.id, connection: 'agent', server: '', insecureSkipTLSVerify: false, credential: null, authorizedEndpoint: endpointOf(a) };
  }
  const d = parseBody(req, CreateClusterSchema);
  return {
    id: d.id,
    name: d.name ?? d.id,
    connection: 'direct',
    server: d.server,
    caData: d.caData,
    insecureSkipTLSVerify: d.insecureSkipTLSVerify ?? false,
    credential: d.credential,
    authorizedEndpoint: endpointOf(d),
  };
}

export function clusterRoutes(ctx: ApiContext): Router {
  const r = Router();
  const statusOf = (c: Cluster) => clusterStatus(c, ctx.health.status(c.id), (id) => ctx.agents.status(id));

  r.get('/clusters', async (req, res) => {
    const me = userOf(req);
    const all = await ctx.store.listClusters();
    const items = all
      .filter((c) => me.admin || me.clusterRoles.has(c.id))
      // An admin acts as owner everywhere, even where also listed as a plain member (as GET one says).
      .map((c) => clusterView(c, rolesOn(me, c.id), statusOf(c)));
    res.json({ items });
  });

  r.post('/clusters', async (req, res) => {
    const me = adminOf(req);
    const cluster = await ctx.store.createCluster(newCluster(req));
    // The agent token (the webhook's sync credential, and an agent's tunnel credential): shown
    // once, here (or when an admin rotates it). An agent cluster also gets its import command.
    const agent = await issueAgentToken(ctx, cluster.id);
    const offer = cluster.connection === 'agent' ? await offerImport(ctx, cluster.id, agent.token) : {};
    await ctx.clusters.refresh(cluster.id);
    await ctx.revocations.publish({ type: 'cluster', clusterId: cluster.id });
    // Probed before answering, so the admin sees at once whether it works; 201 either way (a
    // cluster may be registered before it is up).
    await ctx.health.check(cluster.id);
    ctx.log.info({ by: me.username, cluster: cluster.id, connection: cluster.connection }, 'cluster registered');
    res.status(201).json({ ...clusterView(cluster, undefined, statusOf(cluster)), agentToken: agent.token, ...offer });
  });

  // Rotation: a new agent token; every earlier one stops working at once, and agents that
  // authenticated with one are disconnected (on every replica, through the revocation bus).
  r.post('/clusters/:id/agent-token', async (req, res) => {
    const me = adminOf(req);
    const cluster = await ctx.store.getCluster(req.params.id!);
    if (!cluster) throw notFound('cluster not found');
    const old = await ctx.store.listTokens({ clusterId: cluster.id, kind: 'agent' });
    const agent = await issueAgentToken(ctx, cluster.id);
    for (const t of old) {
      await ctx.store.deleteToken(t.id);
      await ctx.revocations.publish({ type: 'token', tokenId: t.id });
    }
    const offer = cluster.connection === 'agent' ? await offerImport(ctx, cluster.id, agent.token) : {};
    ctx.log.info({ by: me.username, cluster: cluster.id, revoked: old.length }, 'agent token rotated');
    res.status(201).json({ agentToken: agent.token, tokenId: agent.tokenId, ...offer });
  });

  r.get('/clusters/:id', async (req, res) => {
    const me = userOf(req);
    const cluster = await reachableCluster(ctx.store, me, req.params.id!);
    res.json(clusterView(cluster, rolesOn(me, cluster.id), statusOf(cluster)));
  });

  r.patch('/clusters/:id', async (req, res) => {
    const me = adminOf(req);
    const current = await ctx.store.getCluster(req.params.id!);
    if (!current) throw notFound('cluster not found');
    if ((req.body as { connection?: unknown } | undefined)?.connection !== undefined) throw badRequest('connection: is fixed at registration');
    // An agent cluster has no server or credential to change: its agent reports them.
    const body = current.connection === 'agent' ? parseBody(req, PatchAgentClusterSchema) : parseBody(req, PatchClusterSchema);
    const patch: ClusterPatch = { ...body } as ClusterPatch;
    if (body.authorizedEndpoint) {
      patch.authorizedEndpoint = { ...body.authorizedEndpoint, controlPlaneNodes: body.authorizedEndpoint.controlPlaneNodes ?? [] };
    }
    const cluster = await ctx.store.updateCluster(current.id, patch);
    if (!cluster) throw notFound('cluster not found');
    await ctx.clusters.refresh(cluster.id);
    await ctx.revocations.publish({ type: 'cluster', clusterId: cluster.id });
    // A new server or credential is probed before answering, like a registration.
    if (['server', 'credential', 'caData', 'insecureSkipTLSVerify'].some((f) => f in body)) await ctx.health.check(cluster.id);
    ctx.log.info({ by: me.username, cluster: cluster.id, fields: Object.keys(body) }, 'cluster changed');
    res.json(clusterView(cluster, undefined, statusOf(cluster)));
  });

  r.delete('/clusters/:id', async (req, res) => {
    const me = adminOf(req);
    if (!(await ctx.store.deleteCluster(req.params.id!))) throw notFound('cluster not found');
    await ctx.clusters.refresh(req.params.id!);
    ctx.health.forget(req.params.id!);
    await ctx.revocations.publish({ type: 'cluster', clusterId: req.params.id! });
    // Scoped tokens and memberships went with it.
    await ctx.revocations.publish({ type: 'all' });
    ctx.log.info({ by: me.username, cluster: req.params.id }, 'cluster deleted');
    res.status(204).end();
  });

  return r;
}
