/**
 * What a successful login gets, whichever identity provider answered (a password, or single
 * sign-on in the browser or in `kubegate token`): a `session` token for the API and kubectl, or
 * the web UI's cookie session. The routes call these once they have a user.
 */
import { readSettings } from '../settings.js';
import { sessionCookies } from '../http/session-cookie.js';
import type { User } from '../store/store.js';
import { reachableCluster } from './cluster-access.js';
import type { ApiContext } from './context.js';
import { userView } from './routes/views.js';

export interface LoginRequest {
  clusterId?: string | undefined;
  description?: string | undefined;
  ttlSeconds?: number | undefined;
}

/** The answer of `POST /v1/login` and its single sign-on twins: a session token (scoped when asked). */
export async function loginAnswer(ctx: ApiContext, user: User, request: LoginRequest, defaultDescription: string) {
  // A token scoped to a cluster the user cannot reach would be useless: say so now.
  if (request.clusterId !== undefined) await reachableCluster(ctx.store, user, request.clusterId);
  const issued = await ctx.tokens.issue({
    kind: 'session',
    userId: user.id,
    clusterId: request.clusterId ?? null,
    description: request.description ?? defaultDescription,
    ttlSeconds: request.ttlSeconds,
  });
  ctx.log.info({ user: user.username, source: user.source, tokenId: issued.tokenId, cluster: issued.clusterId }, 'login');
  return { token: issued.token, tokenId: issued.tokenId, expiresAt: issued.expiresAt?.toISOString(), user: userView(user) };
}

/** A web UI session for the user: the `Set-Cookie` values, and when it ends. */
export async function uiSession(ctx: ApiContext, user: User, description: string): Promise<{ cookies: string[]; expiresAt: Date | null }> {
  const issued = await ctx.tokens.issue({ kind: 'session', userId: user.id, clusterId: null, description });
  // The cookie lives as long as the token (the issuer's TTL: session-ttl-minutes, capped).
  const settings = await readSettings(ctx.store);
  const maxAge = Math.min(settings['session-ttl-minutes'], settings['auth-token-max-ttl-minutes']) * 60;
  ctx.log.info({ user: user.username, source: user.source, tokenId: issued.tokenId }, 'web UI login');
  return { cookies: sessionCookies(issued.token, maxAge), expiresAt: issued.expiresAt };
}
