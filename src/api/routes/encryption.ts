/** `POST /v1/encryption/reencrypt` (admin, docs/reference/api.md): every cluster credential sealed again with the active key. */
import { Router } from 'express';
import type { ApiContext } from '../context.js';
import { adminOf } from '../request-identity.js';

export function encryptionRoutes(ctx: ApiContext): Router {
  const r = Router();
  r.post('/encryption/reencrypt', async (req, res) => {
    const me = adminOf(req);
    const reencrypted = await ctx.store.reencryptCredentials();
    ctx.log.info({ by: me.username, clusters: reencrypted }, 'cluster credentials re-encrypted with the active key');
    res.json({ reencrypted });
  });
  return r;
}
