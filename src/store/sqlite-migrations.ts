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
