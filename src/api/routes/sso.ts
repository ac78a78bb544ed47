/**
 * How to log in, and single sign-on for `kubegate token` (docs/reference/api.md#single-sign-on):
 * `GET /v1/login/methods` (what the login page and the plugin offer), the device authorization
 * grant (`POST /v1/oidc/device`, then `POST /v1/oidc/device/token` until the user approved), and
 * the authorization code flow with a loopback redirect (`POST /v1/oidc/authorize`, then
 * `POST /v1/oidc/code`). The gateway talks to the provider (it holds the client secret); the
 * plugin only carries the device code or its own PKCE verifier between the calls, so any replica
 * can answer any step. Every success is a `session` token, as `POST /v1/login` answers.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { OidcIdentityProvider } from '../../auth/oidc/oidc-identity-provider.js';
import { badRequest, notFound } from '../../errors.js';
import type { ApiContext } from '../context.js';
import { loginAnswer } from '../login-outcome.js';
import { ClusterIdSchema, parseBody, TtlSchema } from '../validate.js';

/** PKCE verifiers, states and nonces: base64url, 43 to 128 characters (RFC 7636). */
const Nonce = z.string().regex(/^[A-Za-z0-9_-]{22,128}$/, 'must be 22 to 128 base64url characters');
const Issue = { clusterId: ClusterIdSchema.optional(), description: z.string().max(256).optional(), ttlSeconds: TtlSchema.optional() };

/** A loopback redirect of a native app (RFC 8252 §7.3): http, 127.0.0.1, [::1] or localhost, a port. */
const LoopbackUrl = z
  .string()
  .max(8192)
  .refine((raw) => {
    const url = URL.parse(raw);
    return url !== null && url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname) && url.port !== '' && !url.username && !url.password && !url.hash;
  }, 'must be an http://127.0.0.1:<port>/… loopback URL');

const DeviceTokenSchema = z.object({ deviceCode: z.string().min(1).max(2048), ...Issue }).strict();
const AuthorizeSchema = z.object({ redirectUri: LoopbackUrl, state: Nonce, nonce: Nonce, codeChallenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be an S256 challenge') }).strict();
const CodeSchema = z.object({ callbackUrl: LoopbackUrl, state: Nonce, nonce: Nonce, codeVerifier: Nonce, ...Issue }).strict();

export function ssoRoutes(ctx: ApiContext): Router {
  const r = Router();
  const sso = (): OidcIdentityProvider => {
    if (!ctx.sso) throw notFound('single sign-on is not configured on this gateway');
    return ctx.sso;
  };

  r.get('/login/methods', (_req, res) => {
    res.json({ localLogin: ctx.localLogin, sso: ctx.sso ? { displayName: ctx.sso.displayName, loginUrl: '/v1/oidc/login' } : null });
  });

  r.post('/oidc/device', async (_req, res) => {
    const device = await sso().startDevice();
    res.json(device);
  });

  r.post('/oidc/device/token', async (req, res) => {
    const body = parseBody(req, DeviceTokenSchema);
    const answer = await sso().pollDevice(body.deviceCode);
    if ('pending' in answer) {
      res.status(202).json({ pending: true, slowDown: answer.slowDown });
      return;
    }
    res.status(201).json(await loginAnswer(ctx, answer, body, 'kubegate token (single sign-on)'));
  });

  r.post('/oidc/authorize', async (req, res) => {
    const body = parseBody(req, AuthorizeSchema);
    const url = await sso().authorizationUrl(body);
    res.json({ authorizationUrl: url.href });
  });

  r.post('/oidc/code', async (req, res) => {
    const body = parseBody(req, CodeSchema);
    const callbackUrl = new URL(body.callbackUrl);
    if (callbackUrl.searchParams.get('state') !== body.state) throw badRequest('callbackUrl: its state is not this login\'s');
    const user = await sso().completeAuthorization(callbackUrl, body);
    res.status(201).json(await loginAnswer(ctx, user, body, 'kubegate token (single sign-on)'));
  });

  return r;
}
