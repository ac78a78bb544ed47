/**
 * `POST /v1/clusters/{id}/kubeconfig` (one cluster) and `GET /v1/kubeconfig` (every cluster the
 * caller may reach), docs/reference/kubeconfig.md. In token mode each cluster gets a new cluster-scoped `kubeconfig`
 * token, replacing the user's earlier one for that cluster; with setting `kubeconfig-generate-token`
 * false, an exec entry running `kubegate token`.
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

  /**
   * The user entry's credential for one cluster. Token mode mints a new scoped token and revokes
   * the user's earlier download tokens for that cluster: one per cluster per user, so downloading
   * again replaces the file rather than piling up tokens.
   */
  async function credentialFor(me: UserIdentity, cluster: Cluster, mode: Mode): Promise<{ choice: CredentialChoice; tokenId?: string; revoked?: string[] }> {
    if (mode === 'exec') return { choice: 'exec' };
    const earlier = await ctx.store.listTokens({ userId: me.userId, clusterId: cluster.id, kind: 'kubeconfig' });
    const issued = await ctx.tokens.issue({
      kind: 'kubeconfig',
      userId: me.userId,
      clusterId: cluster.id,
      // The Tokens page reads this as "kubeconfig for <name>, downloaded <local time>".
      description: `kubeconfig for ${cluster.name} downloaded ${new Date().toISOString()}`,
    });
    const revoked: string[] = [];
    for (const t of earlier) {
      if (await ctx.store.deleteToken(t.id)) revoked.push(t.id);
      await ctx.revocations.publish({ type: 'token', tokenId: t.id });
    }
    return { choice: { token: issued.token }, tokenId: issued.tokenId, revoked };
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
    const { choice, tokenId, revoked } = await credentialFor(me, cluster, mode);
    // Audit line: who took which cluster's credentials, and how (never the token itself).
    ctx.log.info({ user: me.username, cluster: cluster.id, mode, tokenId, revoked }, 'kubeconfig downloaded');
    send(res, `${cluster.name}.yaml`, [{ cluster, credential: choice }]);
  });

  r.get('/kubeconfig', async (req, res) => {
    const me = userOf(req);
    const clusters = await reachableClusters(ctx, me);
    if (clusters.length === 0) throw notFound('you cannot reach any cluster yet; ask an administrator to add you to one');
    const mode = await modeNow();
    const entries: KubeconfigEntry[] = [];
    const tokenIds: string[] = [];
    const revokedIds: string[] = [];
    for (const cluster of clusters) {
      const { choice, tokenId, revoked } = await credentialFor(me, cluster, mode);
      if (tokenId) tokenIds.push(tokenId);
      revokedIds.push(...(revoked ?? []));
      entries.push({ cluster, credential: choice });
    }
    ctx.log.info({ user: me.username, clusters: clusters.map((c) => c.id), mode, tokenIds, revoked: revokedIds }, 'merged kubeconfig downloaded');
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
