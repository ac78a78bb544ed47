/**
 * Bearer ID tokens on `/k8s/...` (`--oidc-accept-id-tokens`, kube-oidc-proxy's mode): a
 * `TokenAuthenticator` over the OpenID identity provider. A valid token runs as the user a browser
 * login with it would give (username, uid, groups, admin flag), with that user's cluster roles, so
 * membership rules apply as for any user; its verdict is cached like any other, never past `exp`.
 */
import { hash } from 'node:crypto';
import type { Logger } from 'pino';
import { principalsOf, type Store } from '../store/store.js';
import { rolesByCluster } from './cluster-access.js';
import type { AuthResult, TokenAuthenticator } from './identity.js';
import { SsoRefused } from './oidc/claims.js';
import { IdTokenRejected } from './oidc/id-token.js';
import type { OidcIdentityProvider } from './oidc/oidc-identity-provider.js';
import { refused } from './token-decision.js';

/** The non-secret handle of an ID token in audit lines and `kubegate.io/token-id`: it is never stored. */
export function idTokenId(token: string): string {
  return `idt-${hash('sha256', token, 'base64url').slice(0, 22)}`;
}

export class IdTokenAuthenticator implements TokenAuthenticator {
  constructor(
    private readonly provider: Pick<OidcIdentityProvider, 'verifyBearer'>,
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  async authenticate(token: string): Promise<AuthResult> {
    let verdict;
    try {
      verdict = await this.provider.verifyBearer(token);
    } catch (err) {
      if (err instanceof IdTokenRejected) {
        this.log.debug({ fault: err.fault, detail: err.message }, 'refused a bearer ID token');
        return refused(err.fault === 'expired' ? 'expired' : err.fault === 'malformed' ? 'malformed' : 'unknown');
      }
      // A token naming no acceptable user: refused like a token without an owner (the reason is logged).
      if (err instanceof SsoRefused) {
        this.log.info({ why: err.why, reason: err.message }, 'refused a bearer ID token');
        return refused(err.why === 'disabled' ? 'user-disabled' : 'no-owner');
      }
      throw err;
    }
    const { profile, user, expiresAt } = verdict;
    const clusterRoles = rolesByCluster(await this.store.membershipsOf(principalsOf(profile)));
    return {
      authenticated: true,
      identity: {
        kind: 'user',
        userId: user.id,
        username: profile.username,
        groups: profile.groups,
        admin: profile.admin ?? user.admin,
        token: { id: idTokenId(token), kind: 'id-token', clusterId: null, expiresAt },
        clusterRoles,
      },
    };
  }
}
