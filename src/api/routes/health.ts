/** `/healthz` (the process is alive) and `/readyz` (started, store reachable, not draining), docs/reference/api.md. */
import { Router } from 'express';
import type { ApiContext } from '../context.js';

export function healthRoutes(ctx: ApiContext): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  r.get('/readyz', async (_req, res) => {
    // The listener is bound before the first administrator is created (issue 15, bug 6).
    if (ctx.isStarting?.()) {
      res.status(503).type('text/plain').send('starting');
      return;
    }
    if (ctx.isDraining()) {
      res.status(503).type('text/plain').send('draining');
      return;
    }
    try {
      await ctx.store.ping();
      res.type('text/plain').send('ok');
    } catch {
      res.status(503).type('text/plain').send('store unreachable');
    }
  });
  return r;
}
