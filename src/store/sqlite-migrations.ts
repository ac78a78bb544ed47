/**
 * The SQLite schema, as an ordered list of migrations applied at open.
 *
 * Append a migration to change the schema; never edit one that has shipped, because databases
 * that already recorded its version will not run it again. The SQL sticks to types and
 * constraints PostgreSQL also has (times are integer epoch milliseconds, JSON is text) so the
 * PostgreSQL adapter can mirror each version one for one.
 */
import type { Database } from 'better-sqlite3';
import { ConfigError } from '../errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    // No CHECK constraints on `kind` or `role`: SQLite cannot alter a CHECK without rebuilding
    // the table, and the TypeScript layer already constrains both.
    sql: `
      create table users (
        id            text primary key,
        username      text not null unique,
        password_hash text not null,
        groups_json   text not null,
        admin         integer not null,
        enabled       integer not null,
        created_at    integer not null,
        updated_at    integer not null
      );

      create table clusters (
        id                       text primary key,
        name                     text not null,
        server                   text not null,
        ca_data                  text,
        insecure_skip_tls_verify integer not null,
        credential_json          text not null,
        authorized_endpoint_json text not null,
        created_at               integer not null,
        updated_at               integer not null
      );

      create table tokens (
        id           text primary key,
        kind         text not null,
        user_id      text references users (id) on delete cascade,
        cluster_id   text references clusters (id) on delete cascade,
        description  text not null,
        secret_hash  text not null,
        created_at   integer not null,
        expires_at   integer,
        last_used_at integer
      );
      create index tokens_user_id on tokens (user_id);
      create index tokens_cluster_id on tokens (cluster_id);
      create index tokens_expires_at on tokens (expires_at);

      create table members (
        cluster_id text not null references clusters (id) on delete cascade,
        principal  text not null,
        role       text not null,
        primary key (cluster_id, principal)
      );
      -- membershipsOf looks members up by principal across clusters.
      create index members_principal on members (principal);

      create table settings (
        name  text primary key,
        value text not null
      );
    `,
  },
  {
    version: 2,
    name: 'store revision and change log for the webhook sync feed',
    // Triggers record every change to tokens, users and memberships in the same transaction as
    // the change itself, cascaded deletes included, so the sync feed (docs/reference/webhook.md) can be incremental
    // and stays correct when several gateway replicas share one database: nothing lives in a
    // process's memory. Revisions come from one counter row rather than an autoincrement, so in
    // PostgreSQL the row lock orders writers and revisions become visible in commit order (a
    // reader never skips a revision that commits late). `last_used_at` writes and password
    // changes are not changes the feed cares about, so they do not bump the revision.
    sql: `
      create table store_revision (
        id             integer primary key check (id = 1),
        epoch          text not null,
        revision       integer not null,
        pruned_through integer not null
      );
      insert into store_revision (id, epoch, revision, pruned_through) values (1, lower(hex(randomblob(8))), 0, 0);

      create table changes (
        revision   integer primary key,
        kind       text not null,
        key        text not null,
        cluster_id text,
        at         integer not null
      );
      create index changes_at on changes (at);

      create trigger tokens_insert_change after insert on tokens begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'token', new.id, new.cluster_id, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
      end;
      create trigger tokens_delete_change after delete on tokens begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'token', old.id, old.cluster_id, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
      end;
      create trigger tokens_update_change after update on tokens
        when old.id is not new.id or old.kind is not new.kind or old.user_id is not new.user_id
          or old.cluster_id is not new.cluster_id or old.secret_hash is not new.secret_hash or old.expires_at is not new.expires_at
      begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'token', new.id, new.cluster_id, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
        -- A token moved between clusters (or renamed) is also a change for where it was.
        update store_revision set revision = revision + 1 where id = 1 and (old.cluster_id is not new.cluster_id or old.id is not new.id);
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'token', old.id, old.cluster_id, cast(strftime('%s', 'now') as integer) * 1000 from store_revision
          where id = 1 and (old.cluster_id is not new.cluster_id or old.id is not new.id);
      end;

      create trigger users_insert_change after insert on users begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'user', new.id, null, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
      end;
      create trigger users_delete_change after delete on users begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'user', old.id, null, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
      end;
      create trigger users_update_change after update on users
        when old.username is not new.username or old.groups_json is not new.groups_json
          or old.admin is not new.admin or old.enabled is not new.enabled
      begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'user', new.id, null, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
      end;

      create trigger members_insert_change after insert on members begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'member', new.principal, new.cluster_id, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
      end;
      create trigger members_delete_change after delete on members begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'member', old.principal, old.cluster_id, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
      end;
      create trigger members_update_change after update on members when old.role is not new.role begin
        update store_revision set revision = revision + 1 where id = 1;
        insert into changes (revision, kind, key, cluster_id, at)
          select revision, 'member', new.principal, new.cluster_id, cast(strftime('%s', 'now') as integer) * 1000 from store_revision where id = 1;
      end;
    `,
  },
  // Version 3 by agreement (issue 14); versions may land out of order, each runs once.
  {
    version: 3,
    name: 'usernames unique whatever their letter case',
    // \`Alice\` and \`alice\` cannot both exist, and logins find a user whatever the case typed. A
    // database already holding such a pair fails here: rename or delete one, then start again.
    sql: `
      create unique index users_username_lower on users (lower(username));
    `,
  },
  // Version 4 by agreement (3 and 5 belong to work landing beside it); versions only increase.
  {
    version: 4,
    name: 'user source (local or oidc:<issuer>) and provider subject, for single sign-on',
    // Single sign-on users live in the users table like local ones (so tokens, memberships, the
    // verdict cache and the webhook's copy treat them alike); their id is derived from issuer and
    // subject (auth/oidc/provisioning.ts), and they have no password (an empty hash never verifies).
    sql: `
      alter table users add column source text not null default 'local';
      alter table users add column subject text;
    `,
  },
  {
    version: 6,
    name: 'agent clusters: connection kind, one-use import, replica registry, shared secrets',
    // Version 6 by agreement: versions 3 to 5 belong to work landing beside this one. An agent
    // cluster stores no server or credential (server '' and credential 'null'); its import URL
    // keeps only a hash of its secret. Replicas register where their peers reach them
    // (docs/agent-tunnel.md); gateway_secrets holds the replicas' shared peer secret.
    sql: `
      alter table clusters add column connection text not null default 'direct';

      create table cluster_imports (
        cluster_id   text primary key references clusters (id) on delete cascade,
        secret_hash  text not null,
        sealed_token text not null,
        expires_at   integer not null
      );

      create table gateway_replicas (
        id           text primary key,
        peer_url     text not null,
        heartbeat_at integer not null
      );

      create table gateway_secrets (
        name  text primary key,
        value text not null
      );
    `,
  },
  {
    version: 7,
    name: 'custom roles (a role name granting a ClusterRole in the cluster)',
    // Version 7 by agreement. Built-in roles (owner, member, viewer) are not rows: only custom
    // ones are, and members.role names either kind. A role is not deleted while held.
    sql: `
      create table roles (
        name         text primary key,
        cluster_role text not null,
        created_at   integer not null
      );
      create index members_role on members (role);
    `,
  },
];

/** Applies every migration the database has not recorded yet, each in its own transaction. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec(`
    create table if not exists schema_migrations (
      version    integer primary key,
      name       text not null,
      applied_at integer not null
    )
  `);
  const appliedVersion = db.prepare('select version from schema_migrations where version = ?').pluck();
  const newest = db.prepare('select max(version) from schema_migrations').pluck();
  const record = db.prepare('insert into schema_migrations (version, name, applied_at) values (?, ?, ?)');

  const known = migrations.at(-1)?.version ?? 0;
  const current = (newest.get() as number | null) ?? 0;
  if (current > known) {
    // A newer kubegate migrated this file; running old code on it could corrupt data.
    throw new ConfigError(`database schema version ${current} is newer than this kubegate supports (${known})`);
  }

  const applied: number[] = [];
  for (const m of migrations) {
    // IMMEDIATE takes the write lock before the check, so two processes opening the same
    // file at once cannot both apply a migration.
    db.transaction(() => {
      if (appliedVersion.get(m.version) !== undefined) return;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
      applied.push(m.version);
    }).immediate();
  }
  return applied;
}
