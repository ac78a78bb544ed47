/** The management API and operations endpoints (docs/reference/api.md) as one Express app. */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { GatewayError, notFound } from '../errors.js';
import { sendApiError } from '../http/render-error.js';
import { hasRequestBody } from '../http/http2-compat.js';
import type { ApiContext } from './context.js';
import { requireToken } from './authenticate.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { auditApiCalls } from './audit.js';
import { requestIdOf } from './request-identity.js';
import { sessionRoutes } from './routes/session.js';
import { ssoRoutes } from './routes/sso.js';
import { ssoBrowserRoutes } from './routes/sso-browser.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';
import { clusterRoutes } from './routes/clusters.js';
import { memberRoutes } from './routes/members.js';
import { roleRoutes } from './routes/roles.js';
import { settingRoutes } from './routes/settings.js';
import { authnSyncRoutes } from './routes/authn-sync.js';
import { clusterRbacRoutes } from './routes/cluster-rbac.js';
import { kubeconfigRoutes } from './routes/kubeconfig.js';
import { clusterImportRoutes } from './routes/cluster-import.js';
import { encryptionRoutes } from './routes/encryption.js';
import { gatewayCaRoutes } from './routes/gateway-ca.js';

const BODY_LIMIT = '64kb';

/**
 * Builds the Express app serving everything except `/k8s/...`; `site` is mounted at `/` after the
 * API (the web UI, which the composition root brings).
 */
export function createApiApp(ctx: ApiContext, site: readonly RequestHandler[] = []): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // Every route here, read or not, gets its body within the deadline (/ui/login, /healthz, …):
  // a client announcing a body it never sends cannot hold a connection open.
  app.use(bodyDeadline(ctx.bodyTimeoutMs), securityHeaders(ctx.servesTls === true));
  app.use(auditApiCalls(ctx));
  app.use(healthRoutes(ctx), metricsRoutes(ctx));

  const v1 = express.Router();
  v1.use(requireJsonBody, express.json({ limit: BODY_LIMIT, strict: true }));
  const any = requireToken(ctx.authenticator, ctx.lastUsed, 'any');
  const unscoped = requireToken(ctx.authenticator, ctx.lastUsed, 'unscoped');
  v1.use(sessionRoutes(ctx, { any }), ssoRoutes(ctx), ssoBrowserRoutes(ctx));
  // The import URL's secret is its only credential (it works once): before any token check.
  v1.use(clusterImportRoutes(ctx));
  // The webhook's feed takes agent tokens, which `unscoped` below refuses: mount it first.
  v1.use(authnSyncRoutes(ctx, { agent: requireToken(ctx.authenticator, ctx.lastUsed, 'agent') }));
  v1.use(clusterRbacRoutes(ctx, { agent: requireToken(ctx.authenticator, ctx.lastUsed, 'agent') }));
  v1.use(unscoped);
  v1.use(tokenRoutes(ctx), userRoutes(ctx), clusterRoutes(ctx), memberRoutes(ctx), roleRoutes(ctx), settingRoutes(ctx), kubeconfigRoutes(ctx), encryptionRoutes(ctx), gatewayCaRoutes(ctx));
  app.use('/v1', v1);
  for (const routes of site) app.use(routes);

  app.use((_req: Request, _res: Response, next: NextFunction) => next(notFound('no such endpoint')));
  app.use(renderError(ctx));
  return app;
}

/**
 * Drops a client that trickles its body (slowloris on the API and the UI; proxied bodies stream
 * freely). A route that answers without reading the body is covered too: Node then drains the
 * body to keep the connection, and the deadline still runs.
 * Only requests that carry a body are timed: a bodiless request's stream never ends until someone
 * reads it, so timing it would cut long answers such as the webhook's 30 s `authn-sync`
 * long-poll (issue 15, bug 2).
 */
function bodyDeadline(ms: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (req.complete || !hasRequestBody(req)) return next();
    // Cleared only when the whole body has arrived, not when the answer is sent: after an early
    // answer Node keeps reading the body for keep-alive. A socket closed first makes the destroy a no-op.
    const timer = setTimeout(() => req.socket.destroy(), ms);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    next();
  };
}

const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Headers every answer here carries: `Strict-Transport-Security` when serving TLS (a browser that
 * once reached the UI never tries plain HTTP again); on `/v1`, `nosniff` and `no-store` (answers
 * carry tokens and kubeconfigs: no cache may keep them, no browser may guess their type).
 */
function securityHeaders(tls: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (tls) res.setHeader('Strict-Transport-Security', HSTS);
    if (req.url.startsWith('/v1/') || req.url === '/v1') {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Cache-Control', 'no-store');
    }
    next();
  };
}

/** Refuses bodies that are not JSON, before parsing. */
function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (hasRequestBody(req) && !req.is('application/json')) {
    next(new GatewayError('UnsupportedMediaType', 'request bodies must be application/json'));
    return;
  }
  next();
}

/** Express error middleware: body-parser errors and thrown `GatewayError`s become API errors. */
function renderError(ctx: ApiContext) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = err as { type?: string; status?: number };
    let error: unknown = err;
    if (e.type === 'entity.parse.failed') error = new GatewayError('BadRequest', 'body: malformed JSON');
    else if (e.type === 'entity.too.large') error = new GatewayError('RequestEntityTooLarge', `body: larger than ${BODY_LIMIT}`);
    else if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
      error = new GatewayError('UnsupportedMediaType', 'body: unsupported encoding');
    } else if (!(err instanceof GatewayError) && typeof e.status === 'number' && e.status < 500) {
      error = new GatewayError('BadRequest', 'bad request');
    }
    const rendered = sendApiError(res, error, requestIdOf(req));
    if (rendered.code >= 500) ctx.log.error({ err, method: req.method, path: req.path }, 'management API error');
  };
}
