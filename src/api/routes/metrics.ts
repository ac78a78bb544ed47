/** `GET /metrics` (Prometheus text), optionally behind a bearer token (`--metrics-token-file`). */
import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import { unauthorized } from '../../errors.js';
import type { ApiContext } from '../context.js';

function sameToken(presented: string | undefined, expected: string): boolean {
  const a = Buffer.from(presented ?? '');
  const b = Buffer.from(`Bearer ${expected}`);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function metricsRoutes(ctx: ApiContext): Router {
  const r = Router();
  r.get('/metrics', async (req, res) => {
    if (ctx.metricsToken !== undefined && !sameToken(req.headers.authorization, ctx.metricsToken)) throw unauthorized();
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return r;
}
