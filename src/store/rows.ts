/**
 * Rows of the schema both stores share and their mapping to the `Store` types. Times are epoch
 * milliseconds (PostgreSQL `bigint`, parsed to numbers by postgres-connection.ts), lists and
 * objects JSON text, flags booleans (PostgreSQL) or 0/1 (SQLite).
 */
import type { CredentialSealer } from './credential-sealer.js';
import type { Change, Cluster, Member, ReplicaRecord, MemberRole, Role, TokenKind, TokenRecord, User, UserSource, UserWithPassword } from './store.js';

/** A flag column: PostgreSQL `boolean`, SQLite integer 0/1. */
export type Flag = boolean | number;

export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  groups_json: string;
  admin: Flag;
  enabled: Flag;
  source: string;
  subject: string | null;
  created_at: number;
  updated_at: number;
}

export interface TokenRow {
  id: string;
  kind: string;
  user_id: string | null;
  cluster_id: string | null;
  description: string;
  secret_hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

/** A token joined with its owner's columns, prefixed `u_` (all null for agent tokens). */
export interface VerdictRow extends TokenRow {
  u_username: string | null;
  u_groups_json: string;
  u_admin: Flag;
  u_enabled: Flag;
  u_source: string;
  u_subject: string | null;
  u_created_at: number;
  u_updated_at: number;
}

export interface ClusterRow {
  id: string;
  name: string;
  connection: string;
  server: string;
  ca_data: string | null;
  insecure_skip_tls_verify: Flag;
  credential_json: string;
  authorized_endpoint_json: string;
  created_at: number;
  updated_at: number;
}

export interface MemberRow {
  cluster_id: string;
  principal: string;
  role: string;
}

export interface ChangeRow {
  revision: number;
  kind: string;
  key: string;
  cluster_id: string | null;
}

export const USER_COLUMNS = 'id, username, password_hash, groups_json, admin, enabled, source, subject, created_at, updated_at';
export const TOKEN_COLUMNS = 'id, kind, user_id, cluster_id, description, secret_hash, created_at, expires_at, last_used_at';
export const CLUSTER_COLUMNS =
  'id, name, server, ca_data, insecure_skip_tls_verify, credential_json, authorized_endpoint_json, created_at, updated_at, connection';

export function toUser(r: Omit<UserRow, 'password_hash'>): User {
  return {
    id: r.id,
    username: r.username,
    groups: JSON.parse(r.groups_json) as string[],
    admin: r.admin === true || r.admin === 1,
    enabled: r.enabled === true || r.enabled === 1,
    source: r.source as UserSource,
    subject: r.subject,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export function toUserWithPassword(r: UserRow): UserWithPassword {
  return { ...toUser(r), passwordHash: r.password_hash };
}

export function toToken(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    kind: r.kind as TokenKind,
    userId: r.user_id,
    clusterId: r.cluster_id,
    description: r.description,
    secretHash: r.secret_hash,
    createdAt: new Date(r.created_at),
    expiresAt: r.expires_at === null ? null : new Date(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
  };
}

/** The owner half of a verdict row, or null for agent tokens and vanished owners. */
export function verdictUser(r: VerdictRow): User | null {
  if (r.user_id === null || r.u_username === null) return null;
  return toUser({
    id: r.user_id,
    username: r.u_username,
    groups_json: r.u_groups_json,
    admin: r.u_admin,
    enabled: r.u_enabled,
    source: r.u_source,
    subject: r.u_subject,
    created_at: r.u_created_at,
    updated_at: r.u_updated_at,
  });
}

/** Column values of a cluster, in `CLUSTER_COLUMNS` order. */
export function clusterValues(c: Cluster, sealer: CredentialSealer): unknown[] {
  return [
    c.id,
    c.name,
    c.server,
    c.caData ?? null,
    c.insecureSkipTLSVerify,
    sealer.seal(JSON.stringify(c.credential), c.id),
    JSON.stringify(c.authorizedEndpoint),
    c.createdAt.getTime(),
    c.updatedAt.getTime(),
    c.connection,
  ];
}

export function toCluster(r: ClusterRow, sealer: CredentialSealer): Cluster {
  const cluster: Cluster = {
    id: r.id,
    name: r.name,
    connection: r.connection === 'agent' ? 'agent' : 'direct',
    server: r.server,
    insecureSkipTLSVerify: r.insecure_skip_tls_verify === true || r.insecure_skip_tls_verify === 1,
    credential: JSON.parse(sealer.open(r.credential_json, r.id)) as Cluster['credential'],
    authorizedEndpoint: JSON.parse(r.authorized_endpoint_json) as Cluster['authorizedEndpoint'],
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
  // Absent rather than `caData: undefined`, so a cluster reads back exactly as it was written.
  if (r.ca_data !== null) cluster.caData = r.ca_data;
  return cluster;
}

export function toMember(r: MemberRow): Member {
  return { clusterId: r.cluster_id, principal: r.principal, role: r.role as MemberRole };
}

export function toChange(r: ChangeRow): Change {
  return { revision: r.revision, kind: r.kind as Change['kind'], key: r.key, clusterId: r.cluster_id };
}

export interface RoleRow {
  name: string;
  cluster_role: string;
  created_at: number;
}

export function toRole(r: RoleRow): Role {
  return { name: r.name, clusterRole: r.cluster_role, createdAt: new Date(Number(r.created_at)) };
}

export interface ReplicaRow {
  id: string;
  peer_url: string;
  heartbeat_at: number;
}

export function toReplica(r: ReplicaRow): ReplicaRecord {
  return { id: r.id, peerUrl: r.peer_url, heartbeatAt: new Date(r.heartbeat_at) };
}
