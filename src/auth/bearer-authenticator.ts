/**
 * The gateway's bearer tokens, told apart by shape: kubegate tokens (`kgt_…`) are decided from the
 * store, the provider's ID tokens (compact JWS, `eyJ…`) by the ID-token authenticator when
 * `--oidc-accept-id-tokens` is on. It sits under the verdict cache, so a cached verdict costs
 * nothing more; without ID tokens it is the store's authenticator itself.
 */
import type { TokenAuthenticator } from './identity.js';
import { looksLikeJwt } from './oidc/id-token.js';
import { TOKEN_PREFIX } from './tokens.js';

/** Routes each bearer token to the authenticator for its kind. */
export function bearerAuthenticator(kubegateTokens: TokenAuthenticator, idTokens: TokenAuthenticator | undefined): TokenAuthenticator {
  if (!idTokens) return kubegateTokens;
  return {
    authenticate: (token) => (!token.startsWith(TOKEN_PREFIX) && looksLikeJwt(token) ? idTokens.authenticate(token) : kubegateTokens.authenticate(token)),
  };
}
