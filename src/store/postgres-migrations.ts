/**
 * The PostgreSQL schema, one migration per SQLite migration (`sqlite-migrations.ts`) with the same
 * version, tables and meaning. Differences are only of type: booleans are `boolean`, epoch
 * milliseconds and revisions `bigint`, and the change-log triggers are PL/pgSQL.
 *
 * Append a migration to change the schema; never edit one that has shipped.
 */
import type { PoolClient } from 'pg';
import { ConfigError } from '../errors.js';
import type { Migration } from './sqlite-migrations.js';

/** `pg_advisory_xact_lock` key shared by every replica: "kubegate" in ASCII, as a bigint. */
export const MIGRATION_LOCK_KEY = '7743203321999094885';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    // Constraint names are spelled out: the store maps unique and foreign-key violations to
    // Conflict and NotFound messages by name (postgres-errors.ts).
    sql: `
      create table users (
        id            text not null constraint users_pkey primary key,
        username      text not null constraint users_username_key unique,
        password_hash text not null,
        groups_json   text not null,
        admin         boolean not null,
        enabled       boolean not null,
        created_at    bigint not null,
        updated_at    bigint not null
      );

      create table clusters (
        id                       text not null constraint clusters_pkey primary key,
        name                     text not null,
        server                   text not null,
        ca_data                  text,
        insecure_skip_tls_verify boolean not null,
        credential_json          text not null,
        authorized_endpoint_json text not null,
        created_at               bigint not null,
        updated_at               bigint not null
      );

      create table tokens (
        id           text not null constraint tokens_pkey primary key,
        kind         text not null,
        user_id      text constraint tokens_user_id_fkey references users (id) on delete cascade,
        cluster_id   text constraint tokens_cluster_id_fkey references clusters (id) on delete cascade,
        description  text not null,
        secret_hash  text not null,
        created_at   bigint not null,
        expires_at   bigint,
        last_used_at bigint
      );
      create index tokens_user_id on tokens (user_id);
      create index tokens_cluster_id on tokens (cluster_id);
      create index tokens_expires_at on tokens (expires_at);

      create table members (
        cluster_id text not null constraint members_cluster_id_fkey references clusters (id) on delete cascade,
        principal  text not null,
        role       text not null,
        constraint members_pkey primary key (cluster_id, principal)
      );
      -- membershipsOf looks members up by principal across clusters.
      create index members_principal on members (principal);

      create table settings (
        name  text not null constraint settings_pkey primary key,
        value text not null
      );
    `,
  },
  {
    version: 2,
    name: 'store revision and change log for the webhook sync feed',
    // As in SQLite: triggers record every change in the writing transaction, cascades included.
    // The counter is one row: the UPDATE takes its row lock and holds it to commit, so writers
    // queue on it and revisions become visible in commit order — a reader that sees revision N
    // also sees every change up to N (a sequence would let revision 7 commit before 6, and a
    // feed reader that had moved past 6 would never send it).
    sql: `
      create table store_revision (
        id             integer not null primary key check (id = 1),
        epoch          text not null,
        revision       bigint not null,
        pruned_through bigint not null
      );
      insert into store_revision (id, epoch, revision, pruned_through)
        values (1, substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), 0, 0);

      create table changes (
        revision   bigint not null primary key,
        kind       text not null,
        key        text not null,
        cluster_id text,
        at         bigint not null
      );
      create index changes_at on changes (at);

      create function kubegate_record_change(change_kind text, change_key text, change_cluster text) returns void
      language plpgsql as $$
      declare
        next_revision bigint;
      begin
        update store_revision set revision = revision + 1 where id = 1 returning revision into next_revision;
        insert into changes (revision, kind, key, cluster_id, at)
          values (next_revision, change_kind, change_key, change_cluster, (extract(epoch from clock_timestamp()) * 1000)::bigint);
      end $$;

      create function kubegate_tokens_change() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          perform kubegate_record_change('token', old.id, old.cluster_id);
          return null;
        end if;
        perform kubegate_record_change('token', new.id, new.cluster_id);
        -- A token moved between clusters (or renamed) is also a change for where it was.
        if tg_op = 'UPDATE' and (old.cluster_id is distinct from new.cluster_id or old.id is distinct from new.id) then
          perform kubegate_record_change('token', old.id, old.cluster_id);
        end if;
        return null;
      end $$;
      create trigger tokens_insert_change after insert on tokens for each row execute function kubegate_tokens_change();
      create trigger tokens_delete_change after delete on tokens for each row execute function kubegate_tokens_change();
      -- last_used_at and description are not changes: last-use writes must not queue on the counter.
      create trigger tokens_update_change after update on tokens for each row
        when (old.id is distinct from new.id or old.kind is distinct from new.kind or old.user_id is distinct from new.user_id
          or old.cluster_id is distinct from new.cluster_id or old.secret_hash is distinct from new.secret_hash
          or old.expires_at is distinct from new.expires_at)
        execute function kubegate_tokens_change();

      create function kubegate_users_change() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          perform kubegate_record_change('user', old.id, null);
        else
          perform kubegate_record_change('user', new.id, null);
        end if;
        return null;
      end $$;
      create trigger users_insert_change after insert on users for each row execute function kubegate_users_change();
      create trigger users_delete_change after delete on users for each row execute function kubegate_users_change();
      -- Password changes are not changes the feed cares about.
      create trigger users_update_change after update on users for each row
        when (old.username is distinct from new.username or old.groups_json is distinct from new.groups_json
          or old.admin is distinct from new.admin or old.enabled is distinct from new.enabled)
        execute function kubegate_users_change();

      create function kubegate_members_change() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          perform kubegate_record_change('member', old.principal, old.cluster_id);
        else
          perform kubegate_record_change('member', new.principal, new.cluster_id);
        end if;
        return null;
      end $$;
      create trigger members_insert_change after insert on members for each row execute function kubegate_members_change();
      create trigger members_delete_change after delete on members for each row execute function kubegate_members_change();
      create trigger members_update_change after update on members for each row
        when (old.role is distinct from new.role)
        execute function kubegate_members_change();
    `,
  },
  // Version 3 (issue 14), mirroring SQLite's.
  {
    version: 3,
    name: 'usernames unique whatever their letter case',
    sql: `
      create unique index users_username_lower on users (lower(username));
    `,
  },
  {
    version: 4,
    name: 'user source (local or oidc:<issuer>) and provider subject, for single sign-on',
    sql: `
      alter table users add column source text not null default 'local';
      alter table users add column subject text;
    `,
  },
  {
    version: 6,
    name: 'agent clusters: connection kind, one-use import, replica registry, shared secrets',
    sql: `
      alter table clusters add column connection text not null default 'direct';

      create table cluster_imports (
        cluster_id   text not null constraint cluster_imports_pkey primary key
                     constraint cluster_imports_cluster_id_fkey references clusters (id) on delete cascade,
        secret_hash  text not null,
        sealed_token text not null,
        expires_at   bigint not null
      );

      create table gateway_replicas (
        id           text not null constraint gateway_replicas_pkey primary key,
        peer_url     text not null,
        heartbeat_at bigint not null
      );

      create table gateway_secrets (
        name  text not null constraint gateway_secrets_pkey primary key,
        value text not null
      );
    `,
  },
  {
    version: 7,
    name: 'custom roles (a role name granting a ClusterRole in the cluster)',
    // Version 7 by agreement, mirroring the SQLite migration.
    sql: `
      create table roles (
        name         text not null constraint roles_pkey primary key,
        cluster_role text not null,
        created_at   bigint not null
      );
      create index members_role on members (role);
    `,
  },
];

/**
 * Applies every migration the database has not recorded yet, in one transaction under a
 * transaction-scoped advisory lock: replicas starting together queue here, the first applies, the
 * others find everything recorded. The lock goes with the transaction, so a replica that dies
 * mid-migration leaves neither a lock nor half a schema. Returns the versions applied.
 */
export async function migratePostgres(client: PoolClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  await client.query('begin');
  try {
    await client.query('select pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await client.query(`
      create table if not exists schema_migrations (
        version    integer primary key,
        name       text not null,
        applied_at bigint not null
      )
    `);
    const { rows } = await client.query<{ version: number }>('select version from schema_migrations');
    const recorded = new Set(rows.map((r) => Number(r.version)));
    const known = migrations.at(-1)?.version ?? 0;
    const newest = Math.max(0, ...recorded);
    if (newest > known) {
      // A newer kubegate migrated this database; running old code on it could corrupt data.
      throw new ConfigError(`database schema version ${newest} is newer than this kubegate supports (${known})`);
    }
    for (const m of migrations) {
      if (recorded.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('insert into schema_migrations (version, name, applied_at) values ($1, $2, $3)', [m.version, m.name, Date.now()]);
      applied.push(m.version);
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
  return applied;
}
