/**
 * The uncached `TokenAuthenticator`: the gateway's `TokenSource` is its store (the token, its
 * owner and the owner's memberships, looked up on every call); the decision is `decide()`.
 */
import { StoreUnavailableError, GatewayError } from '../errors.js';
import { principalsOf, type Store } from '../store/store.js';
import { rolesByCluster } from './cluster-access.js';
import type { AuthResult, TokenAuthenticator } from './identity.js';
import { verifyToken, type TokenSource, type TokenSubject } from './token-decision.js';

/** Tokens as the store holds them. */
export class StoreTokenSource implements TokenSource {
  constructor(private readonly store: Store) {}

  async find(tokenId: string): Promise<TokenSubject | undefined> {
    const record = await this.store.getTokenVerdict(tokenId);
    if (!record) return undefined;
    const { token: t, user } = record;
    const token = { id: t.id, kind: t.kind, clusterId: t.clusterId, expiresAt: t.expiresAt ? t.expiresAt.getTime() : null, secretHash: t.secretHash };
    // Memberships matter only for an enabled owner: spare the second query otherwise.
    if (!user || !user.enabled || t.kind === 'agent') return { token, user: user && { ...user, clusterRoles: new Map() } };
    const clusterRoles = rolesByCluster(await this.store.membershipsOf(principalsOf(user)));
    return { token, user: { id: user.id, username: user.username, groups: user.groups, admin: user.admin, enabled: user.enabled, clusterRoles } };
  }
}

/** Looks tokens up in the store on every call; wrap it in `CachedTokenAuthenticator`. */
export class StoreTokenAuthenticator implements TokenAuthenticator {
  private readonly source: StoreTokenSource;

  constructor(
    store: Store,
    private readonly clock: () => number = Date.now,
  ) {
    this.source = new StoreTokenSource(store);
  }

  async authenticate(token: string): Promise<AuthResult> {
    try {
      return await verifyToken(token, this.source, this.clock);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new StoreUnavailableError(err);
    }
  }
}
