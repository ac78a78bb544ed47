/**
 * `POST /v1/clusters/{id}/kubeconfig` (one cluster) and `GET /v1/kubeconfig` (every cluster the
 * caller may reach), docs/reference/kubeconfig.md. In token mode each cluster gets a new cluster-scoped `kubeconfig`
 * token; with setting `kubeconfig-generate-token` false, an exec entry running `kubegate token`.
 */
import { Router, type Response } from 'express';
import type { UserIdentity } from '../../auth/identity.js';
import { notFound } from '../../errors.js';
import { buildKubeconfig, toYaml, type KubeconfigEntry } from '../../kubeconfig/build.js';
import type { CredentialChoice } from '../../kubeconfig/types.js';
import { readSettings } from '../../settings.js';
import { principalsOf, type Cluster } from '../../store/store.js';
import { reachableCluster } from '../cluster-access.js';
import type { ApiContext } from '../context.js';
import { userOf } from '../request-identity.js';

type Mode = 'token' | 'exec';

export function kubeconfigRoutes(ctx: ApiContext): Router {
  const r = Router();
  const gateway = { publicUrl: ctx.publicUrl, caPem: ctx.caPem };

  /** The user entry's credential for one cluster; token mode mints a new scoped token. */
  async function credentialFor(me: UserIdentity, cluster: Cluster, mode: Mode, now: Date): Promise<{ choice: CredentialChoice; tokenId?: string }> {
    if (mode === 'exec') return { choice: 'exec' };
    const issued = await ctx.tokens.issue({
      kind: 'kubeconfig',
      userId: me.userId,
      clusterId: cluster.id,
      description: `kubeconfig for ${cluster.name} downloaded ${now.toISOString()}`,
    });
    return { choice: { token: issued.token }, tokenId: issued.tokenId };
  }

  async function modeNow(): Promise<Mode> {
    return (await readSettings(ctx.store))['kubeconfig-generate-token'] ? 'token' : 'exec';
  }

  function send(res: Response, filename: string, entries: KubeconfigEntry[]): void {
    res
      .status(200)
      .set({
        'Content-Type': 'application/yaml; charset=utf-8',
        'Content-Disposition': `attachment; filename="${filename}"`,
        // The file may hold a bearer token.
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      })
      .send(toYaml(buildKubeconfig(gateway, entries)));
  }

  r.post('/clusters/:id/kubeconfig', async (req, res) => {
    const me = userOf(req);
    const cluster = await reachableCluster(ctx.store, me, req.params.id!);
    const mode = await modeNow();
    const { choice, tokenId } = await credentialFor(me, cluster, mode, new Date());
    // Audit line: who took which cluster's credentials, and how (never the token itself).
    ctx.log.info({ user: me.username, cluster: cluster.id, mode, tokenId }, 'kubeconfig downloaded');
    send(res, `${cluster.name}.yaml`, [{ cluster, credential: choice }]);
  });

  r.get('/kubeconfig', async (req, res) => {
    const me = userOf(req);
    const clusters = await reachableClusters(ctx, me);
    if (clusters.length === 0) throw notFound('you cannot reach any cluster yet; ask an administrator to add you to one');
    const mode = await modeNow();
    const now = new Date();
    const entries: KubeconfigEntry[] = [];
    const tokenIds: string[] = [];
    for (const cluster of clusters) {
      const { choice, tokenId } = await credentialFor(me, cluster, mode, now);
      if (tokenId) tokenIds.push(tokenId);
      entries.push({ cluster, credential: choice });
    }
    ctx.log.info({ user: me.username, clusters: clusters.map((c) => c.id), mode, tokenIds }, 'merged kubeconfig downloaded');
    send(res, 'kubegate.yaml', entries);
  });

  return r;
}

/** Every cluster the caller may reach, read fresh from the store (admins: all), in store order. */
async function reachableClusters(ctx: ApiContext, me: UserIdentity): Promise<Cluster[]> {
  const all = await ctx.store.listClusters();
  if (me.admin) return all;
  const memberOf = new Set((await ctx.store.membershipsOf(principalsOf(me))).map((m) => m.clusterId));
  return all.filter((c) => memberOf.has(c.id));
}
