/**
 * Single sign-on in the browser (docs/reference/api.md#single-sign-on): the login page's
 * "Log in with …" goes to `GET /v1/oidc/login`, which remembers a fresh `state`, `nonce` and PKCE
 * verifier in a cookie (`http/login-state-cookie.ts`) and sends the browser to the provider; the
 * provider sends it back to `GET /v1/oidc/callback` (the redirect URI to register:
 * `<public-url>/v1/oidc/callback`), which checks the answer against the cookie, exchanges the code,
 * provisions the user and starts the same cookie session as a password login, then goes to the
 * clusters page. Whatever goes wrong, the browser gets a page saying what, never a stack trace.
 */
import { Router, type Request, type Response } from 'express';
import { calculatePKCECodeChallenge, randomNonce, randomPKCECodeVerifier, randomState } from 'openid-client';
import { badRequest, GatewayError, notFound } from '../../errors.js';
import { clearedLoginStateCookie, loginStateCookie, readLoginState, sameState } from '../../http/login-state-cookie.js';
import { PAGE_HEADERS } from '../../http/page-headers.js';
import { sendErrorPage } from '../../http/render-error.js';
import type { ApiContext } from '../context.js';
import { uiSession } from '../login-outcome.js';
import { requestIdOf } from '../request-identity.js';

/** The parameters a provider's authorization response may carry (RFC 6749 §4.1.2, RFC 9207). */
const RESPONSE_PARAMS = new Set(['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state', 'scope', 'authuser', 'prompt', 'hd']);
const MAX_PARAM = 4096;

/** `<public-url>/v1/oidc/callback`: the redirect URI registered at the provider. */
export function callbackUri(publicUrl: URL): string {
  return `${publicUrl.href.replace(/\/$/, '')}/v1/oidc/callback`;
}

export function ssoBrowserRoutes(ctx: ApiContext): Router {
  const r = Router();
  const redirectUri = callbackUri(ctx.publicUrl);

  r.get('/oidc/login', async (req, res) => {
    try {
      if (!ctx.sso) throw notFound('single sign-on is not configured on this gateway');
      const login = { state: randomState(), nonce: randomNonce(), codeVerifier: randomPKCECodeVerifier() };
      const url = await ctx.sso.authorizationUrl({ redirectUri, state: login.state, nonce: login.nonce, codeChallenge: await calculatePKCECodeChallenge(login.codeVerifier) });
      res.status(303).set({ ...PAGE_HEADERS, 'Cache-Control': 'no-store', Location: url.href, 'Set-Cookie': loginStateCookie(login) }).end();
    } catch (err) {
      failed(ctx, req, res, err);
    }
  });

  r.get('/oidc/callback', async (req, res) => {
    res.setHeader('Set-Cookie', clearedLoginStateCookie());
    try {
      if (!ctx.sso) throw notFound('single sign-on is not configured on this gateway');
      const query = callbackQuery(req);
      const login = readLoginState(req);
      if (!login || !sameState(query.get('state') ?? '', login.state)) {
        throw badRequest('this login was not started in this browser, or took longer than 10 minutes; start again');
      }
      const user = await ctx.sso.completeAuthorization(new URL(`${redirectUri}?${query}`), login);
      const session = await uiSession(ctx, user, 'web UI login (single sign-on)');
      res
        .status(303)
        .set({ ...PAGE_HEADERS, 'Cache-Control': 'no-store', Location: '/#/clusters' })
        .setHeader('Set-Cookie', [clearedLoginStateCookie(), ...session.cookies])
        .end();
    } catch (err) {
      failed(ctx, req, res, err);
    }
  });

  return r;
}

/** The callback's query, checked: known parameters only, each once, none oversized. */
function callbackQuery(req: Request): URLSearchParams {
  const raw = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  const query = new URLSearchParams(raw);
  const seen = new Set<string>();
  for (const [name, value] of query) {
    if (seen.has(name)) throw badRequest(`the provider's answer repeats "${name}"`);
    seen.add(name);
    if (value.length > MAX_PARAM) throw badRequest(`the provider's answer has an oversized "${name}"`);
  }
  for (const name of seen) if (!RESPONSE_PARAMS.has(name)) query.delete(name);
  if (!query.has('state')) throw badRequest('the provider\'s answer has no state; start again');
  if (!query.has('code') && !query.has('error')) throw badRequest('the provider\'s answer has neither a code nor an error; start again');
  return query;
}

function failed(ctx: ApiContext, req: Request, res: Response, err: unknown): void {
  const rendered = sendErrorPage(res, err, requestIdOf(req));
  if (rendered.code >= 500) ctx.log.warn({ err: err instanceof GatewayError ? (err.cause ?? err.message) : err, path: req.path }, 'single sign-on failed');
}
