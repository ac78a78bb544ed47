/** `GET/POST /v1/clusters`, `GET/PATCH/DELETE /v1/clusters/{id}` (docs/reference/api.md). Credentials are never returned. */
import { Router } from 'express';
import { notFound } from '../../errors.js';
import type { ClusterPatch } from '../../store/store.js';
import { CreateClusterSchema, PatchClusterSchema } from '../cluster-schema.js';
import { reachableCluster } from '../cluster-access.js';
import type { ApiContext } from '../context.js';
import { adminOf, userOf } from '../request-identity.js';
import { parseBody } from '../validate.js';
import { clusterView } from './views.js';

function issueAgentToken(ctx: ApiContext, clusterId: string) {
  return ctx.tokens.issue({ kind: 'agent', userId: null, clusterId, description: `kube-api-auth agent for ${clusterId}` });
}

export function clusterRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.get('/clusters', async (req, res) => {
    const me = userOf(req);
    const all = await ctx.store.listClusters();
    const items = all
      .filter((c) => me.admin || me.clusterRoles.has(c.id))
      // An admin acts as owner everywhere, even where also listed as a plain member (as GET one says).
      .map((c) => clusterView(c, me.admin ? 'owner' : me.clusterRoles.get(c.id)));
    res.json({ items });
  });

  r.post('/clusters', async (req, res) => {
    const me = adminOf(req);
    const body = parseBody(req, CreateClusterSchema);
    const cluster = await ctx.store.createCluster({
      id: body.id,
      name: body.name ?? body.id,
      server: body.server,
      caData: body.caData,
      insecureSkipTLSVerify: body.insecureSkipTLSVerify ?? false,
      credential: body.credential,
      authorizedEndpoint: {
        enabled: body.authorizedEndpoint?.enabled ?? false,
        fqdn: body.authorizedEndpoint?.fqdn,
        caData: body.authorizedEndpoint?.caData,
        controlPlaneNodes: body.authorizedEndpoint?.controlPlaneNodes ?? [],
      },
    });
    // The webhook's sync credential: shown once, here (or when an admin rotates it).
    const agent = await issueAgentToken(ctx, cluster.id);
    await ctx.clusters.refresh(cluster.id);
    await ctx.revocations.publish({ type: 'cluster', clusterId: cluster.id });
    ctx.log.info({ by: me.username, cluster: cluster.id }, 'cluster registered');
    res.status(201).json({ ...clusterView(cluster), agentToken: agent.token });
  });

  // Rotation: a new agent token for the cluster's webhooks; every earlier one stops working at once.
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
    ctx.log.info({ by: me.username, cluster: cluster.id, revoked: old.length }, 'agent token rotated');
    res.status(201).json({ agentToken: agent.token, tokenId: agent.tokenId });
  });

  r.get('/clusters/:id', async (req, res) => {
    const me = userOf(req);
    const cluster = await reachableCluster(ctx.store, me, req.params.id!);
    res.json(clusterView(cluster, me.admin ? 'owner' : me.clusterRoles.get(cluster.id)));
  });

  r.patch('/clusters/:id', async (req, res) => {
    const me = adminOf(req);
    const body = parseBody(req, PatchClusterSchema);
    const patch: ClusterPatch = { ...body } as ClusterPatch;
    if (body.authorizedEndpoint) {
      patch.authorizedEndpoint = { ...body.authorizedEndpoint, controlPlaneNodes: body.authorizedEndpoint.controlPlaneNodes ?? [] };
    }
    const cluster = await ctx.store.updateCluster(req.params.id!, patch);
    if (!cluster) throw notFound('cluster not found');
    await ctx.clusters.refresh(cluster.id);
    await ctx.revocations.publish({ type: 'cluster', clusterId: cluster.id });
    ctx.log.info({ by: me.username, cluster: cluster.id, fields: Object.keys(body) }, 'cluster changed');
    res.json(clusterView(cluster));
  });

  r.delete('/clusters/:id', async (req, res) => {
    const me = adminOf(req);
    if (!(await ctx.store.deleteCluster(req.params.id!))) throw notFound('cluster not found');
    await ctx.clusters.refresh(req.params.id!);
    await ctx.revocations.publish({ type: 'cluster', clusterId: req.params.id! });
    // Scoped tokens and memberships went with it.
    await ctx.revocations.publish({ type: 'all' });
    ctx.log.info({ by: me.username, cluster: req.params.id }, 'cluster deleted');
    res.status(204).end();
  });

  return r;
}
