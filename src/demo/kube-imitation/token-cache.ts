/**
 * kube-apiserver's cached token authenticator (apiserver/pkg/authentication/token/cache), as it
 * wraps the webhook: one TTL for both verdicts (`--authentication-token-webhook-cache-ttl`),
 * errors never cached, keys are token hashes, and concurrent misses share one lookup.
 */
import { createHash } from 'node:crypto';
import type { TokenAuthenticator } from './token-authn.js';
import type { UserInfo } from './types.js';

interface Entry {
  user: UserInfo | null;
  expiresAt: number;
}

const keyOf = (token: string, audiences: string[]): string =>
  createHash('sha256').update(token).update('\0').update(audiences.join('\0')).digest('hex');

/** Wraps `inner` with a cache whose TTL is read on every lookup (0 disables it). */
export const cachedTokenAuthenticator = (
  inner: TokenAuthenticator,
  ttlMs: () => number,
  audiences: () => string[],
  now: () => number = Date.now,
): TokenAuthenticator => {
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<UserInfo | null>>();

  return async (token) => {
    const ttl = ttlMs();
    if (ttl <= 0) return inner(token);
    const key = keyOf(token, audiences());
    const cached = entries.get(key);
    if (cached && cached.expiresAt > now()) return cached.user && structuredClone(cached.user);
    entries.delete(key);

    let pending = inFlight.get(key);
    if (!pending) {
      pending = inner(token).then((user) => {
        entries.set(key, { user, expiresAt: now() + ttl });
        return user;
      });
      pending.finally(() => inFlight.delete(key)).catch(() => undefined);
      inFlight.set(key, pending);
    }
    const user = await pending;
    return user && structuredClone(user);
  };
};
