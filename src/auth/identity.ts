/** Who a request is, once its token has been checked. Shared by the proxy, the API and the webhook. */
import type { MemberRole, TokenKind } from '../store/store.js';
import type { TokenFailure } from './token-decision.js';

/** The group every kubegate user carries on both doors (docs/reference/identity.md). */
export const AUTHENTICATED_GROUP = 'kubegate:authenticated';
/** The `extra` key naming the token a request came with (docs/reference/identity.md). */
export const TOKEN_ID_EXTRA = 'kubegate.io/token-id';

export interface TokenInfo {
  /** A stored token's id; for a bearer ID token, `idt-` and a hash of it (it is not stored). */
  id: string;
  /** `id-token`: the OpenID provider's ID token as a bearer (`--oidc-accept-id-tokens`, /k8s only). */
  kind: TokenKind | 'id-token';
  /** The only cluster this token works for, when scoped. */
  clusterId: string | null;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
}

export interface UserIdentity {
  kind: 'user';
  userId: string;
  username: string;
  groups: readonly string[];
  admin: boolean;
  token: TokenInfo;
  /** The user's roles per cluster, from direct and group memberships (auth/cluster-access.ts). */
  clusterRoles: ReadonlyMap<string, readonly MemberRole[]>;
}

/** A cluster's webhook (or agent), holding its `agent` token. */
export interface AgentIdentity {
  kind: 'agent';
  clusterId: string;
  token: TokenInfo;
}

export type Identity = UserIdentity | AgentIdentity;

/** A token's verdict, the same shape on both doors; a refusal says why, as a typed reason. */
export type AuthResult =
  | { authenticated: true; identity: Identity }
  | { authenticated: false; reason: TokenFailure };

/** Checks a bearer token. Throws `StoreUnavailableError` when it cannot decide. */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<AuthResult>;
}
