/** `GET/POST /v1/tokens`, `DELETE /v1/tokens/{id}` (docs/reference/api.md): a user's own tokens; admins see all. */
import { Router } from 'express';
import { z } from 'zod';
import { forbidden, notFound } from '../../errors.js';
import type { ApiContext } from '../context.js';
import { reachableCluster } from '../cluster-access.js';
import { userOf } from '../request-identity.js';
import { ClusterIdSchema, parseBody, TtlSchema } from '../validate.js';
import { tokenView } from './views.js';

const CreateTokenSchema = z
  .object({
    description: z.string().max(256).optional(),
    ttlSeconds: TtlSchema.optional(),
    clusterId: ClusterIdSchema.optional(),
  })
  .strict();

export function tokenRoutes(ctx: ApiContext): Router {
  const r = Router();

  r.get('/tokens', async (req, res) => {
    const me = userOf(req);
    const all = req.query.all === 'true';
    if (all && !me.admin) throw forbidden('?all=true needs an administrator');
    const items = await ctx.store.listTokens(all ? {} : { userId: me.userId });
    res.json({ items: items.map(tokenView) });
  });

  r.post('/tokens', async (req, res) => {
    const me = userOf(req);
    const body = parseBody(req, CreateTokenSchema);
    if (body.clusterId !== undefined) await reachableCluster(ctx.store, me, body.clusterId);
    const issued = await ctx.tokens.issue({
      kind: 'api',
      userId: me.userId,
      clusterId: body.clusterId ?? null,
      description: body.description ?? '',
      ttlSeconds: body.ttlSeconds,
    });
    ctx.log.info({ user: me.username, tokenId: issued.tokenId, cluster: issued.clusterId }, 'token created');
    res.status(201).json({ token: issued.token, tokenId: issued.tokenId, expiresAt: issued.expiresAt?.toISOString() ?? null, clusterId: issued.clusterId });
  });

  r.delete('/tokens/:tokenId', async (req, res) => {
    const me = userOf(req);
    const token = await ctx.store.getToken(req.params.tokenId!);
    // Someone else's token answers like a missing one: ids are not probeable.
    if (!token || (token.userId !== me.userId && !me.admin)) throw notFound('token not found');
    await ctx.store.deleteToken(token.id);
    await ctx.revocations.publish({ type: 'token', tokenId: token.id });
    ctx.log.info({ user: me.username, tokenId: token.id }, 'token revoked');
    res.status(204).end();
  });

  return r;
}
