/** `POST /v1/login`, `POST /v1/logout`, `GET /v1/me` (docs/reference/api.md). */
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { loginAnswer } from '../login-outcome.js';
import { userOf } from '../request-identity.js';
import { ClusterIdSchema, parseBody, TtlSchema } from '../validate.js';

const LoginSchema = z
  .object({
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(1024),
    ttlSeconds: TtlSchema.optional(),
    description: z.string().max(256).optional(),
    clusterId: ClusterIdSchema.optional(),
  })
  .strict();

export function sessionRoutes(ctx: ApiContext, auth: { any: RequestHandler }): Router {
  const r = Router();

  r.post('/login', async (req, res) => {
    const body = parseBody(req, LoginSchema);
    const user = await ctx.login.login(body, ctx.trust.clientAddress(req));
    res.status(201).json(await loginAnswer(ctx, user, body, 'login'));
  });

  r.post('/logout', auth.any, async (req, res) => {
    const me = userOf(req);
    await ctx.store.deleteToken(me.token.id);
    await ctx.revocations.publish({ type: 'token', tokenId: me.token.id });
    res.status(204).end();
  });

  r.get('/me', auth.any, (req, res) => {
    const me = userOf(req);
    res.json({ id: me.userId, username: me.username, groups: me.groups, admin: me.admin, tokenId: me.token.id, clusterId: me.token.clusterId });
  });

  return r;
}
