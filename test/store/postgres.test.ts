/**
 * The PostgreSQL store against the shared conformance suite, plus what only PostgreSQL has:
 * migrations under the advisory lock, connection settings from the URL, unreachable-server errors,
 * commit-ordered revisions, and the cost of a verdict lookup.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ConfigError, GatewayError, StoreUnavailableError } from '../../src/errors.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { postgresClientConfig, postgresPoolConfig, redactDatabaseUrl } from '../../src/store/postgres-connection.js';
import { MIGRATIONS } from '../../src/store/postgres-migrations.js';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/store/sqlite-migrations.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { runEncryptionConformance, runStoreConformance } from './conformance.js';

let server: TestPostgres;
/** One database for the file; each conformance test gets its own schema in it. */
let databaseUrl: string;

before(async () => {
  server = await startTestPostgres();
  databaseUrl = await server.createDatabase('conformance');
});
after(async () => {
  await server?.destroy();
});

/** A URL whose connections use a fresh, empty schema (libpq `options` → `search_path`). */
async function freshSchemaUrl(base = databaseUrl): Promise<string> {
  const schema = `s_${randomBytes(6).toString('hex')}`;
  await server.query(`create schema ${schema}`, [], base);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

runStoreConformance('postgres', async () => openPostgresStore(await freshSchemaUrl(), { poolSize: 4 }));

runEncryptionConformance('postgres', async () => {
  const url = await freshSchemaUrl();
  const table = `${schemaOf(url)}.clusters`;
  return {
    open: (sealer) => openPostgresStore(url, { poolSize: 2, sealer }),
    rawCredential: async (id) => (await server.query<{ credential_json: string }>(`select credential_json from ${table} where id = $1`, [id], databaseUrl)).rows[0]!.credential_json,
    // What a backup of the table holds.
    dump: async () => JSON.stringify((await server.query(`select * from ${table}`, [], databaseUrl)).rows),
  };
});

describe('PostgreSQL store', () => {
  it('numbers migrations as SQLite does, one for one', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => [m.version, m.name]),
      SQLITE_MIGRATIONS.map((m) => [m.version, m.name]),
    );
  });

  it('migrates once when three replicas open an empty database together', async () => {
    const url = await freshSchemaUrl();
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url, { poolSize: 2 })));
    try {
      const runs = stores.map((s) => s.migrated).filter((m) => m.length > 0);
      assert.deepEqual(runs, [MIGRATIONS.map((m) => m.version)]);
      const { rows } = await server.query<{ version: number }>(
        `select version from ${schemaOf(url)}.schema_migrations order by version`,
        [],
        databaseUrl,
      );
      assert.deepEqual(rows.map((r) => Number(r.version)), MIGRATIONS.map((m) => m.version));
      await stores[0]!.createUser({ id: 'u-a', username: 'a', passwordHash: 'h', groups: [], admin: false, enabled: true });
      for (const s of stores) assert.equal(await s.countUsers(), 1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses a database migrated by a newer kubegate', async () => {
    const url = await freshSchemaUrl();
    await (await openPostgresStore(url)).close();
    await server.query(`insert into ${schemaOf(url)}.schema_migrations values (999, 'future', 0)`, [], databaseUrl);
    await assert.rejects(openPostgresStore(url), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /schema version 999 is newer/);
      return true;
    });
  });

  it('says which setting is wrong for a bad password or a missing database, without the password', async () => {
    const wrong = new URL(databaseUrl);
    wrong.password = 'not-the-password';
    const missing = new URL(databaseUrl);
    missing.pathname = '/no_such_db';
    for (const [url, reason] of [[wrong, /password/], [missing, /does not exist/]] as const) {
      await assert.rejects(openPostgresStore(url.toString()), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, reason);
        assert.ok(!err.message.includes('not-the-password') && !err.message.includes('kubegate-test'), err.message);
        return true;
      });
    }
  });

  it('reports an unreachable server as StoreUnavailableError, after waiting when asked', async () => {
    const closedPort = `postgres://u:p@127.0.0.1:1/db`;
    await assert.rejects(openPostgresStore(closedPort), StoreUnavailableError);
    let waits = 0;
    const started = Date.now();
    await assert.rejects(openPostgresStore(closedPort, { waitMs: 600, onWait: () => waits++ }), StoreUnavailableError);
    assert.ok(waits >= 1 && Date.now() - started < 5_000, `waited ${waits} times`);
  });

  it('builds connection settings from the URL: TLS from sslmode, pool size, timeouts', () => {
    const tls = new pg.Client(postgresClientConfig('postgres://u:p@db.example:5432/kg?sslmode=require'));
    assert.ok(tls.ssl, 'sslmode=require enables TLS');
    const noVerify = new pg.Client(postgresClientConfig('postgres://u:p@db.example/kg?sslmode=no-verify'));
    assert.deepEqual(noVerify.ssl, { rejectUnauthorized: false });
    const plain = new pg.Client(postgresClientConfig('postgres://u:p@db.example/kg?sslmode=disable'));
    assert.equal(plain.ssl, false);
    const config = postgresPoolConfig('postgres://u:p@db.example/kg', { poolSize: 25 });
    assert.equal(config.max, 25);
    assert.ok(config.connectionTimeoutMillis! > 0 && config.query_timeout! > 0);
    assert.equal(redactDatabaseUrl('postgres://kg:s3cret@db:5432/kg?sslmode=require'), 'postgres://kg:*****@db:5432/kg?sslmode=require');
  });

  it('maps a server shutdown and a closed pool to StoreUnavailableError, and recovers', async () => {
    const store = await openPostgresStore(await freshSchemaUrl(), { poolSize: 2, onIdleError: () => {} });
    try {
      await store.ping();
      await server.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = 'conformance' and pid <> pg_backend_pid() and application_name = 'kubegate'`);
      // The pool notices dropped connections and opens new ones.
      await eventually(() => store.ping());
      await store.countUsers();
    } finally {
      await store.close();
    }
    await assert.rejects(store.countUsers(), (err: unknown) => err instanceof GatewayError && err.reason === 'ServiceUnavailable');
  });

  it('hands out revisions in commit order under concurrent writers', async () => {
    const store = await openPostgresStore(await freshSchemaUrl(), { poolSize: 8 });
    try {
      await store.createCluster({ id: 'c', name: 'c', connection: 'direct', server: 'https://c', insecureSkipTLSVerify: false, credential: { token: 'x' }, authorizedEndpoint: { enabled: false, controlPlaneNodes: [] } });
      const start = (await store.getRevision()).revision;
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.createUser({ id: `u-${i}`, username: `user${i}`, passwordHash: 'h', groups: [], admin: false, enabled: true }),
        ),
      );
      const { revision } = await store.getRevision();
      assert.equal(revision, start + 40);
      const changes = (await store.listChanges({ clusterId: 'c', since: start, until: revision }))!;
      assert.deepEqual(changes.map((c) => c.revision), Array.from({ length: 40 }, (_, i) => start + i + 1));
    } finally {
      await store.close();
    }
  });

  it('looks a verdict up in about a millisecond or less on loopback', async () => {
    const store = await openPostgresStore(await freshSchemaUrl(), { poolSize: 1 });
    try {
      await store.createUser({ id: 'u-a', username: 'a', passwordHash: 'h', groups: ['g'], admin: false, enabled: true });
      for (let i = 0; i < 200; i++) {
        await store.createToken({ id: `t-${i}`, kind: 'api', userId: 'u-a', clusterId: null, description: '', secretHash: 'ab', expiresAt: null });
      }
      for (let i = 0; i < 50; i++) await store.getTokenVerdict(`t-${i}`);
      const n = 1_000;
      let started = performance.now();
      for (let i = 0; i < n; i++) await store.getTokenVerdict(`t-${i % 200}`);
      const verdictMs = (performance.now() - started) / n;
      started = performance.now();
      for (let i = 0; i < n; i++) {
        await store.getTokenVerdict(`t-${i % 200}`);
        await store.membershipsOf(['user:a', 'group:g']);
      }
      const missMs = (performance.now() - started) / n;
      console.log(`# getTokenVerdict ${verdictMs.toFixed(3)} ms; with membershipsOf (a whole miss) ${missMs.toFixed(3)} ms`);
      // Generous bound: a shared CI host is noisy; the figure above is what to read.
      assert.ok(verdictMs < 5, `getTokenVerdict took ${verdictMs} ms`);
    } finally {
      await store.close();
    }
  });
});

function schemaOf(url: string): string {
  return /search_path=(\w+)/.exec(new URL(url).searchParams.get('options') ?? '')![1]!;
}

async function eventually(check: () => Promise<unknown>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
