/** The management API and operations endpoints (SPEC §4.2, §4.3) as one Express app. */
import express, { type NextFunction, type Request, type Response } from 'express';
import { GatewayError, notFound } from '../errors.js';
import { sendApiError } from '../http/render-error.js';
import type { ApiContext } from './context.js';
import { requireToken } from './authenticate.js';
import { healthRoutes } from './routes/health.js';
import { sessionRoutes } from './routes/session.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';
import { clusterRoutes } from './routes/clusters.js';
import { memberRoutes } from './routes/members.js';
import { settingRoutes } from './routes/settings.js';

const BODY_LIMIT = '64kb';

/** Builds the Express app serving everything except `/k8s/...`. */
export function createApiApp(ctx: ApiContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(healthRoutes(ctx));

  const v1 = express.Router();
  v1.use(requireJsonBody, express.json({ limit: BODY_LIMIT, strict: true }));
  const any = requireToken(ctx.authenticator, ctx.lastUsed, 'any');
  const unscoped = requireToken(ctx.authenticator, ctx.lastUsed, 'unscoped');
  v1.use(sessionRoutes(ctx, { any }));
  v1.use(unscoped);
  v1.use(tokenRoutes(ctx), userRoutes(ctx), clusterRoutes(ctx), memberRoutes(ctx), settingRoutes(ctx));
  app.use('/v1', v1);

  app.use((_req: Request, _res: Response, next: NextFunction) => next(notFound('no such endpoint')));
  app.use(renderError(ctx));
  return app;
}

/** Refuses bodies that are not JSON, before parsing. */
function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(new GatewayError('UnsupportedMediaType', 'request bodies must be application/json'));
    return;
  }
  next();
}

/** Express error middleware: body-parser errors and thrown `GatewayError`s become SPEC §4.2 errors. */
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
    const rendered = sendApiError(res, error);
    if (rendered.code >= 500) ctx.log.error({ err, method: req.method, path: req.path }, 'management API error');
  };
}
