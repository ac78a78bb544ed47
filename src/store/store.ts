/**
 * The `Store` interface: everything kubegate persists. One implementation per file
 * (`sqlite.ts`, later `postgres.ts`), all passing `test/store/conformance.ts`.
 *
 * Methods are async so a networked database fits the same shape. Implementations throw
 * `StoreUnavailableError` when the database cannot be reached, and never log secrets.
 */

export type TokenKind = 'session' | 'api' | 'kubeconfig' | 'agent';

/** The roles every cluster has: `owner` manages members; all three reach the cluster. */
export const BUILT_IN_ROLES = ['owner', 'member', 'viewer'] as const;
export type BuiltInRole = (typeof BUILT_IN_ROLES)[number];

/** A built-in role or the name of a custom role (`Role`). */
export type MemberRole = string;

/** A custom role an admin defined: its name, and the ClusterRole it grants in every cluster. */
export interface Role {
  name: string;
  clusterRole: string;
  createdAt: Date;
}

/** Where a user comes from: `local` (created by an admin), or `oidc:<issuer>` (single sign-on). */
export type UserSource = 'local' | `oidc:${string}`;

export interface User {
  id: string;
  username: string;
  groups: string[];
  admin: boolean;
  enabled: boolean;
  source: UserSource;
  /** The provider's `sub` for single sign-on users; null for local ones. */
  subject: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A user with its argon2id hash; only the login path asks for it. */
export interface UserWithPassword extends User {
  passwordHash: string;
}

export interface NewUser {
  id: string;
  username: string;
  /** Empty for single sign-on users: they have no password. */
  passwordHash: string;
  groups: string[];
  admin: boolean;
  enabled: boolean;
  /** Default `local`. */
  source?: UserSource;
  subject?: string | null;
}

export interface UserPatch {
  /** Single sign-on users are renamed when the provider's username for them changes. */
  username?: string;
  passwordHash?: string;
  groups?: string[];
  admin?: boolean;
  enabled?: boolean;
}

export interface TokenRecord {
  id: string;
  kind: TokenKind;
  /** Owner; null only for `agent` tokens, which belong to a cluster. */
  userId: string | null;
  /** Set for cluster-scoped tokens (and every agent token). */
  clusterId: string | null;
  description: string;
  /** Hash of the secret (see `auth/tokens.ts`); the secret itself is never stored. */
  secretHash: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

export type NewToken = Omit<TokenRecord, 'createdAt' | 'lastUsedAt'>;

/** What the authenticator needs in one lookup: the token, its owner, and the owner's cluster roles. */
export interface TokenVerdictRecord {
  token: TokenRecord;
  /** Null for agent tokens. */
  user: User | null;
}

export type ClusterCredential = { token: string } | { clientCertData: string; clientKeyData: string };

export interface ControlPlaneNode {
  name: string;
  address: string;
}

export interface AuthorizedEndpoint {
  enabled: boolean;
  fqdn?: string;
  caData?: string;
  /** Base64 PEM of the CA of the FQDN's certificate (a balancer's), when it is not `caData`'s. */
  fqdnCaData?: string;
  controlPlaneNodes: ControlPlaneNode[];
  /** Which context a downloaded kubeconfig selects: the gateway's (default) or the direct one. */
  kubeconfigDefaultContext?: 'gateway' | 'direct';
}

/**
 * How the gateway reaches a cluster: `direct` over the network to `server` with its stored
 * credential, or `agent` only through the tunnel its in-cluster agent opens (no server, no
 * credential stored: the agent brings both).
 */
export type ClusterConnection = 'direct' | 'agent';

export interface Cluster {
  id: string;
  name: string;
  connection: ClusterConnection;
  /** The kube-apiserver URL; '' for an agent cluster (its agent knows it). */
  server: string;
  /** Base64 PEM of the CA that signs the cluster's serving certificate. */
  caData?: string;
  insecureSkipTLSVerify: boolean;
  /** The gateway's own credential for this cluster; null for an agent cluster. Never returned by the API. */
  credential: ClusterCredential | null;
  authorizedEndpoint: AuthorizedEndpoint;
  createdAt: Date;
  updatedAt: Date;
}

export type NewCluster = Omit<Cluster, 'createdAt' | 'updatedAt'>;
/** The connection kind is fixed at registration. */
export type ClusterPatch = Partial<Omit<NewCluster, 'id' | 'connection'>>;

/**
 * An agent cluster's one-use import URL: only the hash of its secret is kept, and the agent token
 * the manifests carry is sealed with a key derived from that secret (`api/import-seal.ts`), so
 * the store alone cannot read it.
 */
export interface ClusterImport {
  secretHash: string;
  sealedToken: string;
  expiresAt: Date;
}

/** A gateway replica, as it registers itself for its peers (docs/agent-tunnel.md). */
export interface ReplicaRecord {
  id: string;
  /** Where the other replicas reach this one (its own address, not the balancer's). */
  peerUrl: string;
  heartbeatAt: Date;
}

export interface Member {
  clusterId: string;
  /** `user:<username>` or `group:<name>`. */
  principal: string;
  role: MemberRole;
}

/**
 * One recorded change, for the webhook sync feed (docs/reference/webhook.md). The store records a change in the same
 * transaction as every write to a token, a user (username, groups, admin, enabled) or a membership,
 * cascaded deletes included; last-use writes and password changes are not changes.
 */
export interface Change {
  /** Store-wide, strictly increasing; one per changed row. */
  revision: number;
  /** `token`: key is the token id; `user`: the user id; `member`: the principal. */
  kind: 'token' | 'user' | 'member';
  key: string;
  /** The token's or membership's cluster; null for users and unscoped tokens. */
  clusterId: string | null;
}

/** Where the change log stands. */
export interface StoreRevision {
  /** Random id of this database, so a revision from another database is never taken for ours. */
  epoch: string;
  /** The revision of the newest change (0 when none). */
  revision: number;
}

export interface Store {
  /** Checks the database answers (for `/readyz`). */
  ping(): Promise<void>;
  close(): Promise<void>;

  createUser(user: NewUser): Promise<User>;
  getUser(id: string): Promise<User | undefined>;
  getUserByUsername(username: string): Promise<UserWithPassword | undefined>;
  listUsers(): Promise<User[]>;
  countUsers(): Promise<number>;
  updateUser(id: string, patch: UserPatch): Promise<User | undefined>;
  /** Deletes the user and all of their tokens. */
  deleteUser(id: string): Promise<boolean>;

  createToken(token: NewToken): Promise<TokenRecord>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** The token and its owner in one round trip: the authenticator's cache-miss path. */
  getTokenVerdict(id: string): Promise<TokenVerdictRecord | undefined>;
  /** Tokens of one user, or every token when `userId` is undefined; newest first. */
  listTokens(filter: { userId?: string; clusterId?: string; kind?: TokenKind }): Promise<TokenRecord[]>;
  deleteToken(id: string): Promise<boolean>;
  /**
   * Deletes a user's tokens (of one kind when `kind` is given, all but `exceptId` when given);
   * returns the deleted ids. Each deletion is in the change log, so webhooks hear of it.
   */
  deleteUserTokens(userId: string, filter?: { kind?: TokenKind; exceptId?: string }): Promise<string[]>;
  /** Records last use for many tokens in one write (called by a throttled batcher). */
  touchTokens(lastUsed: ReadonlyMap<string, Date>): Promise<void>;
  /** Removes tokens that expired before `now`; returns how many. */
  deleteExpiredTokens(now: Date): Promise<number>;

  createCluster(cluster: NewCluster): Promise<Cluster>;
  getCluster(id: string): Promise<Cluster | undefined>;
  listClusters(): Promise<Cluster[]>;
  updateCluster(id: string, patch: ClusterPatch): Promise<Cluster | undefined>;
  /**
   * Seals every cluster credential and shared secret not sealed with the active encryption key (`onlyClear`: only
   * those stored in clear, as at start after an upgrade); returns how many were rewritten.
   */
  reencryptCredentials(options?: { onlyClear?: boolean }): Promise<number>;
  /** Deletes the cluster, its members and every token scoped to it. */
  deleteCluster(id: string): Promise<boolean>;

  /** Replaces (or, with null, removes) a cluster's pending import. */
  setClusterImport(clusterId: string, pending: ClusterImport | null): Promise<void>;
  /**
   * Uses up the cluster's import if `secretHash` matches and it has not expired at `now`; at most
   * one caller ever gets it. Returns the sealed token, or undefined.
   */
  takeClusterImport(clusterId: string, secretHash: string, now: Date): Promise<string | undefined>;

  /** Records (or refreshes) a replica's registration. */
  heartbeatReplica(replica: ReplicaRecord): Promise<void>;
  /** Replicas whose last heartbeat is at or after `since`. */
  listReplicas(since: Date): Promise<ReplicaRecord[]>;
  /** Forgets a replica (at shutdown, or one that stopped heartbeating before `before`). */
  removeReplicas(filter: { id?: string; before?: Date }): Promise<number>;
  /** The value kept under `name`, storing `candidate` first when there is none (one winner across replicas). */
  ensureSecret(name: string, candidate: string): Promise<string>;

  listMembers(clusterId: string): Promise<Member[]>;
  /** Adds or changes a member's role. */
  putMember(member: Member): Promise<Member>;
  deleteMember(clusterId: string, principal: string): Promise<boolean>;
  /** Every membership held by any of `principals`, across clusters. */
  membershipsOf(principals: readonly string[]): Promise<Member[]>;

  /** Custom roles, by name. */
  listRoles(): Promise<Role[]>;
  /** Conflict when the name is taken. */
  createRole(role: Omit<Role, 'createdAt'>): Promise<Role>;
  /** False when there is no such role; Conflict (nothing deleted) while a membership holds it. */
  deleteRole(name: string): Promise<boolean>;

  /** The current revision of the change log. */
  getRevision(): Promise<StoreRevision>;
  /**
   * Changes with `since < revision <= until` that concern `clusterId` (its tokens and memberships,
   * and every user change), oldest first; undefined when some of them were pruned already (the
   * caller must start from a full copy).
   */
  listChanges(query: { clusterId: string; since: number; until: number }): Promise<Change[] | undefined>;
  /** Forgets changes recorded before `before`; returns how many. */
  pruneChanges(before: Date): Promise<number>;

  getSettings(): Promise<Record<string, string>>;
  putSetting(name: string, value: string): Promise<void>;
}

/** The principals a user holds for membership checks. */
export function principalsOf(user: { username: string; groups: readonly string[] }): string[] {
  return [`user:${user.username}`, ...user.groups.map((g) => `group:${g}`)];
}
