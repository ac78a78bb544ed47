/**
 * `GET /metrics` (Prometheus text). Like kube-apiserver's, it needs a credential: the bearer token
 * in `--metrics-token-file`, or an administrator's kubegate token; `--metrics-open` opts out.
 */
import { timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import { GatewayError, unauthorized } from '../../errors.js';
import { bearerToken } from '../../http/bearer.js';
import type { ApiContext } from '../context.js';

function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Throws 401 (no or a bad credential) or 403 (a user who is not an admin) unless the caller may scrape. */
async function authorizeScrape(ctx: ApiContext, req: Request): Promise<void> {
  if (ctx.metricsOpen) return;
  const token = bearerToken(req);
  if (ctx.metricsToken !== undefined && sameToken(token, ctx.metricsToken)) return;
  const result = await ctx.authenticator.authenticate(token);
  if (!result.authenticated || result.identity.kind !== 'user' || result.identity.token.kind === 'id-token') throw unauthorized();
  if (!result.identity.admin) throw new GatewayError('Forbidden', '/metrics needs an administrator or the metrics token');
}

export function metricsRoutes(ctx: ApiContext): Router {
  const r = Router();
  r.get('/metrics', async (req, res) => {
    await authorizeScrape(ctx, req);
    if (ctx.scrapeMetrics) {
      const whole = await ctx.scrapeMetrics().catch((err: unknown) => {
        throw new GatewayError('ServiceUnavailable', `the workers' metrics could not be gathered: ${(err as Error).message}`);
      });
      res.type(whole.contentType).send(whole.text);
      return;
    }
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return r;
}
