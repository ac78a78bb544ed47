/**
 * Bearer-token authenticators and their union, as kube-apiserver chains them: static tokens
 * (`--token-auth-file`), then service-account tokens (here only the gateway's), then the
 * TokenReview webhook. The first that recognises a token wins.
 */
import type { StaticTokenUser, UserInfo } from './types.js';

/** Resolves a token to a user, null when it does not recognise it; throws on an error (webhook down). */
export type TokenAuthenticator = (token: string) => Promise<UserInfo | null>;

/** The service account the gateway runs as (docs/reference/identity.md: what the cluster sees before impersonation). */
export const GATEWAY_USER: UserInfo = Object.freeze({
  username: 'system:serviceaccount:kubegate:kubegate-impersonator',
  uid: '',
  // A real service-account token also carries its namespace's group.
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kubegate', 'system:authenticated'],
  extra: {},
}) as UserInfo;

const copyUser = (user: UserInfo): UserInfo => ({
  username: user.username,
  uid: user.uid,
  groups: [...user.groups],
  extra: Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]])),
});

/** The gateway's service-account token. */
export const gatewayTokenAuthenticator = (gatewayToken: () => string): TokenAuthenticator => async (token) =>
  token === gatewayToken() ? copyUser(GATEWAY_USER) : null;

/** Tokens listed in options, like a `--token-auth-file`. */
export const staticTokenAuthenticator = (
  tokens: () => Record<string, StaticTokenUser> | undefined,
): TokenAuthenticator => async (token) => {
  const entry = Object.hasOwn(tokens() ?? {}, token) ? tokens()?.[token] : undefined;
  if (!entry) return null;
  return { username: entry.username, uid: entry.uid ?? '', groups: [...(entry.groups ?? [])], extra: { ...entry.extra } };
};

/**
 * Tries each authenticator in order; an error from one does not stop the others (kube's
 * unionAuthTokenHandler), but is rethrown when none succeeded.
 */
export const unionTokenAuthenticator = (authenticators: TokenAuthenticator[]): TokenAuthenticator => async (token) => {
  const errors: unknown[] = [];
  for (const authenticate of authenticators) {
    try {
      const user = await authenticate(token);
      if (user) return user;
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
  return null;
};
