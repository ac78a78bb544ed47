/** The uncached `TokenAuthenticator`: parses the token, looks it up, checks hash, expiry and owner. */
import { StoreUnavailableError, GatewayError } from '../errors.js';
import { principalsOf, type MemberRole, type Store } from '../store/store.js';
import type { AuthResult, Identity, TokenAuthenticator } from './identity.js';
import { parseToken, secretMatches } from './tokens.js';

const INVALID: AuthResult = { authenticated: false, message: 'invalid bearer token' };

/** Looks tokens up in the store on every call; wrap it in `CachedTokenAuthenticator`. */
export class StoreTokenAuthenticator implements TokenAuthenticator {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
  ) {}

  async authenticate(token: string): Promise<AuthResult> {
    const parsed = parseToken(token);
    if (!parsed) return INVALID;
    let identity: Identity | undefined;
    try {
      const record = await this.store.getTokenVerdict(parsed.id);
      if (!record || !secretMatches(parsed.id, parsed.secret, record.token.secretHash)) return INVALID;
      const { token: t, user } = record;
      const expiresAt = t.expiresAt ? t.expiresAt.getTime() : null;
      if (expiresAt !== null && expiresAt <= this.clock()) return { authenticated: false, message: 'token has expired' };
      const info = { id: t.id, kind: t.kind, clusterId: t.clusterId, expiresAt };
      if (t.kind === 'agent') {
        if (!t.clusterId) return INVALID;
        identity = { kind: 'agent', clusterId: t.clusterId, token: info };
      } else {
        if (!user) return INVALID;
        if (!user.enabled) return { authenticated: false, message: 'user is disabled' };
        const roles = new Map<string, MemberRole>();
        for (const m of await this.store.membershipsOf(principalsOf(user))) {
          if (roles.get(m.clusterId) !== 'owner') roles.set(m.clusterId, m.role);
        }
        identity = {
          kind: 'user',
          userId: user.id,
          username: user.username,
          groups: user.groups,
          admin: user.admin,
          token: info,
          clusterRoles: roles,
        };
      }
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new StoreUnavailableError(err);
    }
    return { authenticated: true, identity };
  }
}
