/**
 * Authentication for the management API: a bearer token, or the web UI's session cookie with its
 * CSRF proof (`http/session-cookie.ts`). Cluster-scoped tokens reach only `/v1/me` and
 * `/v1/logout`; agent tokens only their cluster's sync feed (docs/reference/tokens.md).
 */
import type { NextFunction, Request, Response } from 'express';
import type { TokenAuthenticator } from '../auth/identity.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import { GatewayError, unauthorized } from '../errors.js';
import { bearerToken } from '../http/bearer.js';
import { sessionTokenFromCookie } from '../http/session-cookie.js';
import { setIdentity } from './request-identity.js';

export type TokenAudience = 'any' | 'unscoped' | 'agent';

/** Middleware: authenticates the caller and checks the token may be used for this route. */
export function requireToken(authenticator: TokenAuthenticator, lastUsed: LastUsedRecorder, audience: TokenAudience = 'unscoped') {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const presented = presentedToken(req, audience);
    const result = await authenticator.authenticate(presented.token);
    if (!result.authenticated) throw unauthorized(result.reason === 'expired' ? 'token has expired' : 'Unauthorized');
    const identity = result.identity;
    // Bearer ID tokens are for kubectl on /k8s only: they must not mint kubegate tokens that outlive them.
    if (identity.token.kind === 'id-token') throw unauthorized('ID tokens are accepted only on /k8s/...; log in for a kubegate token');
    // The cookie only ever carries a UI login; any other token in it was not put there by us.
    if (presented.viaCookie && identity.token.kind !== 'session') throw unauthorized();
    if (audience === 'agent') {
      if (identity.kind !== 'agent') throw new GatewayError('Forbidden', 'only the cluster agent token may use this endpoint');
    } else if (identity.kind === 'agent') {
      throw new GatewayError('Forbidden', 'agent tokens cannot use this endpoint');
    } else if (audience === 'unscoped' && identity.token.clusterId !== null) {
      throw new GatewayError('Forbidden', 'a cluster-scoped token can only be used for that cluster, /v1/me and /v1/logout');
    }
    setIdentity(req, identity);
    lastUsed.record(identity.token);
    next();
  };
}

/** The bearer token; without one, the web UI's session cookie (its CSRF proof checked first). */
function presentedToken(req: Request, audience: TokenAudience): { token: string; viaCookie: boolean } {
  // A bearer token wins over the cookie and needs no CSRF proof: other sites cannot set headers.
  if (audience !== 'agent' && req.headers.authorization === undefined) {
    const token = sessionTokenFromCookie(req);
    if (token !== undefined) return { token, viaCookie: true };
  }
  return { token: bearerToken(req), viaCookie: false };
}
