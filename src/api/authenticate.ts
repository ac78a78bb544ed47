/**
 * Authentication for the management API: a bearer token (SPEC §4.2). Cluster-scoped tokens reach
 * only `/v1/me` and `/v1/logout` (SPEC §7); agent tokens only their cluster's sync feed.
 */
import type { NextFunction, Request, Response } from 'express';
import type { TokenAuthenticator } from '../auth/identity.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import { GatewayError, unauthorized } from '../errors.js';
import { bearerToken } from '../proxy/authenticate.js';
import { setIdentity } from './request-identity.js';

export type TokenAudience = 'any' | 'unscoped' | 'agent';

/** Middleware: authenticates the caller and checks the token may be used for this route. */
export function requireToken(authenticator: TokenAuthenticator, lastUsed: LastUsedRecorder, audience: TokenAudience = 'unscoped') {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const result = await authenticator.authenticate(bearerToken(req));
    if (!result.authenticated) throw unauthorized(result.message === 'token has expired' ? 'token has expired' : 'Unauthorized');
    const identity = result.identity;
    if (audience === 'agent') {
      if (identity.kind !== 'agent') throw new GatewayError('Forbidden', 'only the cluster agent token may use this endpoint');
    } else if (identity.kind === 'agent') {
      throw new GatewayError('Forbidden', 'agent tokens cannot use this endpoint');
    } else if (audience === 'unscoped' && identity.token.clusterId !== null) {
      throw new GatewayError('Forbidden', 'a cluster-scoped token can only be used for that cluster, /v1/me and /v1/logout');
    }
    setIdentity(req, identity);
    lastUsed.record(identity.token.id);
    next();
  };
}
