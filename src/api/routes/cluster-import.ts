/**
 * `GET /v1/clusters/{id}/import/{secret}.yaml` (docs/reference/api.md): an agent cluster's
 * manifests, agent token included, for `kubectl apply -f`. The secret in the URL is the only
 * authentication; the URL works once, within 24 hours of being issued.
 */
import { Router } from 'express';
import { notFound } from '../../errors.js';
import { renderAgent } from '../../render/agent.js';
import type { ApiContext } from '../context.js';
import { IMPORT_SECRET, importSecretHash, openImport } from '../import-seal.js';

const GONE = 'this import URL is unknown, already used or expired; rotate the agent token for a new one';

export function clusterImportRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.get('/clusters/:id/import/:file', async (req, res) => {
    const clusterId = req.params.id!;
    const m = /^(.+)\.yaml$/.exec(req.params.file!);
    const secret = m?.[1];
    if (!secret || !IMPORT_SECRET.test(secret)) throw notFound(GONE);
    const sealed = await ctx.store.takeClusterImport(clusterId, importSecretHash(clusterId, secret), new Date());
    const cluster = sealed === undefined ? undefined : await ctx.store.getCluster(clusterId);
    if (sealed === undefined || !cluster || cluster.connection !== 'agent') throw notFound(GONE);
    const yaml = renderAgent({
      clusterId,
      gateway: ctx.publicUrl.href.replace(/\/$/, ''),
      agentToken: openImport(clusterId, secret, sealed),
      gatewayCaPem: ctx.caPem,
      kubeApiAuth: cluster.authorizedEndpoint.enabled,
    });
    ctx.log.info({ cluster: clusterId, client: req.socket.remoteAddress }, 'import manifests served; the URL is used up');
    res.set({ 'Content-Type': 'application/yaml; charset=utf-8', 'Cache-Control': 'no-store' }).send(yaml);
  });

  return r;
}
