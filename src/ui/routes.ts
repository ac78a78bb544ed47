/**
 * The web UI (issue 9): the single page at `/`, its files under `/ui/`, and the cookie login:
 * `POST /ui/login` checks the password, issues a `session` token and puts it in an HttpOnly cookie
 * (the page never sees it); `POST /ui/logout` clears the cookies (the page first calls
 * `POST /v1/logout`, which revokes the token). See `session-cookie.ts` for the cookie and CSRF.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { ApiContext } from '../api/context.js';
import { uiSession } from '../api/login-outcome.js';
import { parseBody } from '../api/validate.js';
import { GatewayError } from '../errors.js';
import { PAGE_HEADERS } from '../http/page-headers.js';
import { clearedSessionCookies, refuseCrossSite } from '../http/session-cookie.js';
import { loadStaticFiles, STATIC_DIR } from './static-files.js';

const LoginSchema = z.object({ username: z.string().min(1).max(256), password: z.string().min(1).max(1024) }).strict();

/** Routes of the web UI; empty when its files are missing. */
export function uiRoutes(ctx: ApiContext): Router {
  const r = Router();
  const files = loadStaticFiles();
  if (!files) {
    ctx.log.warn({ dir: STATIC_DIR }, 'web UI files not found; serving the API only');
    return r;
  }

  r.use((req: Request, res: Response, next: NextFunction) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? files.get(req.path) : undefined;
    if (!file) return next();
    // No ETags in this app, so `no-cache` refetches: small files, and never a stale script.
    res.set({ ...PAGE_HEADERS, 'Content-Type': file.type, 'Cache-Control': 'no-cache' }).send(file.body);
  });

  r.post('/ui/login', requireJson, express.json({ limit: '8kb', strict: true }), async (req, res) => {
    // Login CSRF: another site must not log the victim into the attacker's account.
    refuseCrossSite(req);
    const user = await ctx.login.login(parseBody(req, LoginSchema), ctx.trust.clientAddress(req));
    const session = await uiSession(ctx, user, 'web UI login');
    res
      .status(200)
      .set({ ...PAGE_HEADERS, 'Cache-Control': 'no-store', 'Set-Cookie': session.cookies })
      .json({ username: user.username, admin: user.admin, expiresAt: session.expiresAt?.toISOString() ?? null });
  });

  r.post('/ui/logout', (req, res) => {
    refuseCrossSite(req);
    res.status(204).set({ ...PAGE_HEADERS, 'Cache-Control': 'no-store', 'Set-Cookie': clearedSessionCookies() }).end();
  });

  return r;
}

/** Only JSON bodies: a cross-site HTML form cannot send one without a CORS preflight. */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('application/json')) throw new GatewayError('UnsupportedMediaType', 'request bodies must be application/json');
  next();
}
