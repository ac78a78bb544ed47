/** Who a request is, once its token has been checked. Shared by the proxy, the API and the webhook sync. */
import type { MemberRole, TokenKind } from '../store/store.js';

/** The group every kubegate user carries on both doors (SPEC §5). */
export const AUTHENTICATED_GROUP = 'kubegate:authenticated';
/** The `extra` key naming the token a request came with (SPEC §5). */
export const TOKEN_ID_EXTRA = 'kubegate.io/token-id';

export interface TokenInfo {
  id: string;
  kind: TokenKind;
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
  /** The user's role per cluster, from direct and group memberships (owner wins). */
  clusterRoles: ReadonlyMap<string, MemberRole>;
}

/** A cluster's webhook, holding its `agent` token. */
export interface AgentIdentity {
  kind: 'agent';
  clusterId: string;
  token: TokenInfo;
}

export type Identity = UserIdentity | AgentIdentity;

export type AuthResult =
  | { authenticated: true; identity: Identity }
  | { authenticated: false; message: string };

/** Checks a bearer token. Throws `StoreUnavailableError` when it cannot decide. */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<AuthResult>;
}
