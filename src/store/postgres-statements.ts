/**
 * The PostgreSQL store's statements, each named so `pg` prepares it once per connection and later
 * calls only bind and execute (the verdict lookup is on the authenticator's cache-miss path).
 *
 * Every method is one statement, so each runs in one snapshot and needs no explicit transaction.
 * Ordering uses `collate "C"` (byte order) to list exactly as SQLite does.
 */
import { CLUSTER_COLUMNS, TOKEN_COLUMNS, USER_COLUMNS } from './rows.js';

export interface Statement {
  name: string;
  text: string;
}

const statement = (name: string, text: string): Statement => ({ name: `kubegate_${name}`, text });

export const SQL = {
  ping: statement('ping', 'select 1'),

  insertUser: statement('insert_user', `insert into users (${USER_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning ${USER_COLUMNS}`),
  getUser: statement('get_user', `select ${USER_COLUMNS} from users where id = $1`),
  getUserByUsername: statement('get_user_by_username', `select ${USER_COLUMNS} from users where lower(username) = lower($1)`),
  listUsers: statement('list_users', `select ${USER_COLUMNS} from users order by username collate "C"`),
  countUsers: statement('count_users', 'select count(*)::int as n from users'),
  // A patch in one statement: null keeps the column.
  updateUser: statement(
    'update_user',
    `update users set password_hash = coalesce($2, password_hash), groups_json = coalesce($3, groups_json),
       admin = coalesce($4, admin), enabled = coalesce($5, enabled), updated_at = $6, username = coalesce($7, username)
     where id = $1
     returning ${USER_COLUMNS}`,
  ),
  deleteUser: statement('delete_user', 'delete from users where id = $1'),

  insertToken: statement('insert_token', `insert into tokens (${TOKEN_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ${TOKEN_COLUMNS}`),
  getToken: statement('get_token', `select ${TOKEN_COLUMNS} from tokens where id = $1`),
  // The authenticator's cache-miss path: token and owner in one indexed lookup, one round trip.
  getTokenVerdict: statement(
    'get_token_verdict',
    `select t.id, t.kind, t.user_id, t.cluster_id, t.description, t.secret_hash, t.created_at, t.expires_at, t.last_used_at,
       u.username as u_username, u.groups_json as u_groups_json, u.admin as u_admin, u.enabled as u_enabled,
       u.source as u_source, u.subject as u_subject, u.created_at as u_created_at, u.updated_at as u_updated_at
     from tokens t left join users u on u.id = t.user_id
     where t.id = $1`,
  ),
  listTokens: statement(
    'list_tokens',
    `select ${TOKEN_COLUMNS} from tokens
     where ($1::text is null or user_id = $1) and ($2::text is null or cluster_id = $2) and ($3::text is null or kind = $3)
     order by created_at desc, id collate "C"`,
  ),
  deleteToken: statement('delete_token', 'delete from tokens where id = $1'),
  deleteUserTokens: statement(
    'delete_user_tokens',
    'delete from tokens where user_id = $1 and ($2::text is null or kind = $2) and ($3::text is null or id <> $3) returning id',
  ),
  // Many tokens in one write; the change-log trigger ignores last_used_at.
  touchTokens: statement(
    'touch_tokens',
    `update tokens set last_used_at = v.at
     from unnest($1::text[], $2::bigint[]) as v (id, at)
     where tokens.id = v.id`,
  ),
  deleteExpiredTokens: statement('delete_expired_tokens', 'delete from tokens where expires_at is not null and expires_at < $1'),

  insertCluster: statement('insert_cluster', `insert into clusters (${CLUSTER_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning ${CLUSTER_COLUMNS}`),
  getCluster: statement('get_cluster', `select ${CLUSTER_COLUMNS} from clusters where id = $1`),
  listClusters: statement('list_clusters', `select ${CLUSTER_COLUMNS} from clusters order by name collate "C", id collate "C"`),
  clusterCredentials: statement('cluster_credentials', 'select id, credential_json from clusters'),
  setClusterCredential: statement('set_cluster_credential', 'update clusters set credential_json = $1 where id = $2 and credential_json = $3'),
  // $4 says whether the patch names caData at all: an explicit undefined clears it.
  updateCluster: statement(
    'update_cluster',
    `update clusters set name = coalesce($2, name), server = coalesce($3, server),
       ca_data = case when $4::boolean then $5::text else ca_data end,
       insecure_skip_tls_verify = coalesce($6, insecure_skip_tls_verify),
       credential_json = coalesce($7, credential_json), authorized_endpoint_json = coalesce($8, authorized_endpoint_json),
       updated_at = $9
     where id = $1
     returning ${CLUSTER_COLUMNS}`,
  ),
  // Members and scoped tokens go by ON DELETE CASCADE.
  deleteCluster: statement('delete_cluster', 'delete from clusters where id = $1'),

  setClusterImport: statement(
    'set_cluster_import',
    `insert into cluster_imports (cluster_id, secret_hash, sealed_token, expires_at) values ($1, $2, $3, $4)
     on conflict (cluster_id) do update set secret_hash = excluded.secret_hash, sealed_token = excluded.sealed_token,
       expires_at = excluded.expires_at`,
  ),
  clearClusterImport: statement('clear_cluster_import', 'delete from cluster_imports where cluster_id = $1'),
  // Of two requests with the same secret, only one gets the row back.
  takeClusterImport: statement(
    'take_cluster_import',
    'delete from cluster_imports where cluster_id = $1 and secret_hash = $2 and expires_at > $3 returning sealed_token',
  ),

  heartbeatReplica: statement(
    'heartbeat_replica',
    `insert into gateway_replicas (id, peer_url, heartbeat_at) values ($1, $2, $3)
     on conflict (id) do update set peer_url = excluded.peer_url, heartbeat_at = excluded.heartbeat_at`,
  ),
  listReplicas: statement('list_replicas', 'select id, peer_url, heartbeat_at from gateway_replicas where heartbeat_at >= $1 order by id collate "C"'),
  removeReplicas: statement(
    'remove_replicas',
    'delete from gateway_replicas where ($1::text is null or id = $1) and ($2::bigint is null or heartbeat_at < $2)',
  ),
  listSecrets: statement('list_secrets', 'select name, value from gateway_secrets'),
  setSecret: statement('set_secret', 'update gateway_secrets set value = $1 where name = $2 and value = $3'),
  ensureSecret: statement(
    'ensure_secret',
    `with added as (insert into gateway_secrets (name, value) values ($1, $2) on conflict (name) do nothing returning value)
     select value from added union all select value from gateway_secrets where name = $1 limit 1`,
  ),

  listMembers: statement(
    'list_members',
    'select cluster_id, principal, role from members where cluster_id = $1 order by principal collate "C"',
  ),
  putMember: statement(
    'put_member',
    `insert into members (cluster_id, principal, role) values ($1, $2, $3)
     on conflict (cluster_id, principal) do update set role = excluded.role`,
  ),
  deleteMember: statement('delete_member', 'delete from members where cluster_id = $1 and principal = $2'),
  membershipsOf: statement(
    'memberships_of',
    `select cluster_id, principal, role from members where principal = any($1::text[])
     order by cluster_id collate "C", principal collate "C"`,
  ),

  listRoles: statement('list_roles', 'select name, cluster_role, created_at from roles order by name collate "C"'),
  insertRole: statement('insert_role', 'insert into roles (name, cluster_role, created_at) values ($1, $2, $3)'),
  // Not deleted while held: one statement, so the check and the delete see the same snapshot.
  deleteRole: statement(
    'delete_role',
    `with held as (select exists (select 1 from members where role = $1) as held),
          gone as (delete from roles where name = $1 and not (select held from held) returning name)
     select (select held from held) as held, (select count(*) from gone)::int as deleted, exists (select 1 from roles where name = $1) as existed`,
  ),
  getRevision: statement('get_revision', 'select epoch, revision from store_revision where id = 1'),
  // One statement, one snapshot: the pruning mark and the changes it covers are read together.
  listChanges: statement(
    'list_changes',
    `select s.pruned_through, c.revision, c.kind, c.key, c.cluster_id
     from store_revision s
     left join changes c on c.revision > $2 and c.revision <= $3 and (c.kind = 'user' or c.cluster_id = $1)
     where s.id = 1
     order by c.revision`,
  ),
  // Pruning by revision keeps the log gap-free: everything up to the newest old change goes, and
  // the mark moves in the same transaction.
  pruneChanges: statement(
    'prune_changes',
    `with through as (select max(revision) as revision from changes where at < $1),
     marked as (
       update store_revision set pruned_through = greatest(pruned_through, through.revision)
       from through where store_revision.id = 1 and through.revision is not null
     ),
     gone as (delete from changes using through where changes.revision <= through.revision returning 1)
     select count(*)::int as n from gone`,
  ),

  getSettings: statement('get_settings', 'select name, value from settings'),
  putSetting: statement(
    'put_setting',
    'insert into settings (name, value) values ($1, $2) on conflict (name) do update set value = excluded.value',
  ),
} satisfies Record<string, Statement>;
