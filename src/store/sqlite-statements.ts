/** Every SQL statement of the SQLite store, prepared once at open. */
import type { Database as Db } from 'better-sqlite3';
import type { StoreRevision } from './store.js';
import { CLUSTER_COLUMNS, USER_COLUMNS, type ChangeRow, type ClusterRow, type MemberRow, type ReplicaRow, type RoleRow, type TokenRow, type UserRow, type VerdictRow } from './rows.js';

/** Prepares every statement once, at open. */
export function prepareStatements(db: Db) {
  return {
    ping: db.prepare('select 1'),

    insertUser: db.prepare<UserRow>(
      `insert into users (${USER_COLUMNS})
       values (@id, @username, @password_hash, @groups_json, @admin, @enabled, @source, @subject, @created_at, @updated_at)`,
    ),
    getUser: db.prepare<[string], UserRow>(`select ${USER_COLUMNS} from users where id = ?`),
    getUserByUsername: db.prepare<[string], UserRow>(`select ${USER_COLUMNS} from users where lower(username) = lower(?)`),
    listUsers: db.prepare<[], UserRow>(`select ${USER_COLUMNS} from users order by username`),
    countUsers: db.prepare<[], number>('select count(*) from users').pluck(),
    updateUser: db.prepare<UserRow>(
      `update users set username = @username, password_hash = @password_hash, groups_json = @groups_json, admin = @admin,
         enabled = @enabled, updated_at = @updated_at
       where id = @id`,
    ),
    deleteUser: db.prepare<[string]>('delete from users where id = ?'),

    insertToken: db.prepare<TokenRow>(
      `insert into tokens (id, kind, user_id, cluster_id, description, secret_hash, created_at, expires_at, last_used_at)
       values (@id, @kind, @user_id, @cluster_id, @description, @secret_hash, @created_at, @expires_at, @last_used_at)`,
    ),
    getToken: db.prepare<[string], TokenRow>('select * from tokens where id = ?'),
    // The authenticator's cache-miss path: token and owner in one indexed lookup.
    getTokenVerdict: db.prepare<[string], VerdictRow>(
      `select t.*, u.username as u_username, u.groups_json as u_groups_json,
         u.admin as u_admin, u.enabled as u_enabled, u.source as u_source, u.subject as u_subject,
         u.created_at as u_created_at, u.updated_at as u_updated_at
       from tokens t left join users u on u.id = t.user_id
       where t.id = ?`,
    ),
    listTokens: db.prepare<{ userId: string | null; clusterId: string | null; kind: string | null }, TokenRow>(
      `select * from tokens
       where (@userId is null or user_id = @userId)
         and (@clusterId is null or cluster_id = @clusterId)
         and (@kind is null or kind = @kind)
       order by created_at desc, id`,
    ),
    deleteToken: db.prepare<[string]>('delete from tokens where id = ?'),
    deleteUserTokens: db.prepare<{ userId: string; kind: string | null; exceptId: string | null }, { id: string }>(
      `delete from tokens
       where user_id = @userId and (@kind is null or kind = @kind) and (@exceptId is null or id <> @exceptId)
       returning id`,
    ),
    touchToken: db.prepare<[number, string]>('update tokens set last_used_at = ? where id = ?'),
    deleteExpiredTokens: db.prepare<[number]>('delete from tokens where expires_at is not null and expires_at < ?'),

    insertCluster: db.prepare<ClusterRow>(
      `insert into clusters (${CLUSTER_COLUMNS})
       values (@id, @name, @server, @ca_data, @insecure_skip_tls_verify, @credential_json,
         @authorized_endpoint_json, @created_at, @updated_at, @connection)`,
    ),
    getCluster: db.prepare<[string], ClusterRow>(`select ${CLUSTER_COLUMNS} from clusters where id = ?`),
    listClusters: db.prepare<[], ClusterRow>(`select ${CLUSTER_COLUMNS} from clusters order by name, id`),
    clusterCredentials: db.prepare<[], { id: string; credential_json: string }>('select id, credential_json from clusters'),
    setClusterCredential: db.prepare<[string, string, string]>('update clusters set credential_json = ? where id = ? and credential_json = ?'),
    updateCluster: db.prepare<ClusterRow>(
      `update clusters set name = @name, server = @server, ca_data = @ca_data,
         insecure_skip_tls_verify = @insecure_skip_tls_verify, credential_json = @credential_json,
         authorized_endpoint_json = @authorized_endpoint_json, updated_at = @updated_at
       where id = @id`,
    ),
    // Members and scoped tokens go by ON DELETE CASCADE.
    deleteCluster: db.prepare<[string]>('delete from clusters where id = ?'),

    deleteClusterImport: db.prepare<[string]>('delete from cluster_imports where cluster_id = ?'),
    putClusterImport: db.prepare<[string, string, string, number]>(
      `insert into cluster_imports (cluster_id, secret_hash, sealed_token, expires_at) values (?, ?, ?, ?)
       on conflict (cluster_id) do update set secret_hash = excluded.secret_hash, sealed_token = excluded.sealed_token,
         expires_at = excluded.expires_at`,
    ),
    // One statement: of two requests with the same secret, only one gets a row back.
    takeClusterImport: db.prepare<[string, string, number], { sealed_token: string }>(
      'delete from cluster_imports where cluster_id = ? and secret_hash = ? and expires_at > ? returning sealed_token',
    ),

    heartbeatReplica: db.prepare<[string, string, number]>(
      `insert into gateway_replicas (id, peer_url, heartbeat_at) values (?, ?, ?)
       on conflict (id) do update set peer_url = excluded.peer_url, heartbeat_at = excluded.heartbeat_at`,
    ),
    listReplicas: db.prepare<[number], ReplicaRow>('select id, peer_url, heartbeat_at from gateway_replicas where heartbeat_at >= ? order by id'),
    removeReplicas: db.prepare<{ id: string | null; before: number | null }>(
      'delete from gateway_replicas where (@id is null or id = @id) and (@before is null or heartbeat_at < @before)',
    ),
    insertSecret: db.prepare<[string, string]>('insert into gateway_secrets (name, value) values (?, ?) on conflict (name) do nothing'),
    getSecret: db.prepare<[string], string>('select value from gateway_secrets where name = ?').pluck(),
    listSecrets: db.prepare<[], { name: string; value: string }>('select name, value from gateway_secrets'),
    setSecret: db.prepare<[string, string, string]>('update gateway_secrets set value = ? where name = ? and value = ?'),

    listMembers: db.prepare<[string], MemberRow>(
      'select cluster_id, principal, role from members where cluster_id = ? order by principal',
    ),
    putMember: db.prepare<[string, string, string]>(
      `insert into members (cluster_id, principal, role) values (?, ?, ?)
       on conflict (cluster_id, principal) do update set role = excluded.role`,
    ),
    deleteMember: db.prepare<[string, string]>('delete from members where cluster_id = ? and principal = ?'),
    // One JSON array parameter instead of a statement per list length.
    membershipsOf: db.prepare<[string], MemberRow>(
      `select cluster_id, principal, role from members
       where principal in (select value from json_each(?))
       order by cluster_id, principal`,
    ),

    listRoles: db.prepare<[], RoleRow>('select name, cluster_role, created_at from roles order by name'),
    insertRole: db.prepare<[string, string, number]>('insert into roles (name, cluster_role, created_at) values (?, ?, ?)'),
    roleHeld: db.prepare<[string], number>('select count(*) from members where role = ?').pluck(),
    deleteRole: db.prepare<[string]>('delete from roles where name = ?'),

    getRevision: db.prepare<[], StoreRevision & { pruned_through: number }>(
      'select epoch, revision, pruned_through from store_revision where id = 1',
    ),
    listChanges: db.prepare<{ clusterId: string; since: number; until: number }, ChangeRow>(
      `select revision, kind, key, cluster_id from changes
       where revision > @since and revision <= @until and (kind = 'user' or cluster_id = @clusterId)
       order by revision`,
    ),
    newestChangeBefore: db.prepare<[number], number | null>('select max(revision) from changes where at < ?').pluck(),
    deleteChangesThrough: db.prepare<[number]>('delete from changes where revision <= ?'),
    setPrunedThrough: db.prepare<[number]>('update store_revision set pruned_through = max(pruned_through, ?) where id = 1'),

    getSettings: db.prepare<[], { name: string; value: string }>('select name, value from settings'),
    putSetting: db.prepare<[string, string]>(
      'insert into settings (name, value) values (?, ?) on conflict (name) do update set value = excluded.value',
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
