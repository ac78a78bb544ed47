import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../../src/errors.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { MIGRATIONS } from '../../src/store/sqlite-migrations.js';
import { runEncryptionConformance, runStoreConformance } from './conformance.js';

runStoreConformance('sqlite :memory:', () => openSqliteStore(':memory:'));

runEncryptionConformance('sqlite file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'kubegate-sealed-')), 'kubegate.db');
  const read = (query: (db: Database.Database) => unknown) => {
    const db = new Database(file, { readonly: true });
    try {
      return query(db);
    } finally {
      db.close();
    }
  };
  return {
    open: (sealer) => openSqliteStore(file, { sealer }),
    rawCredential: async (id) => read((db) => db.prepare('select credential_json from clusters where id = ?').pluck().get(id)) as string,
    // The file and its write-ahead log, as a copy of the data directory holds them.
    dump: async () => [file, `${file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join(''),
  };
});

describe('SQLite store on disk', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubegate-sqlite-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Reads the file with a separate connection, as an operator would. */
  function inspect<T>(file: string, query: (db: Database.Database) => T): T {
    const db = new Database(file, { readonly: true });
    try {
      return query(db);
    } finally {
      db.close();
    }
  }

  it('uses WAL journal mode', async () => {
    const file = join(dir, 'wal.db');
    const store = await openSqliteStore(file);
    try {
      assert.equal(inspect(file, (db) => db.pragma('journal_mode', { simple: true })), 'wal');
    } finally {
      await store.close();
    }
  });

  it('keeps data across re-opens and applies each migration once', async () => {
    const file = join(dir, 'reopen.db');
    const first = await openSqliteStore(file);
    await first.createUser({ id: 'u-alice', username: 'alice', passwordHash: 'h', groups: ['ops'], admin: true, enabled: true });
    await first.putSetting('title', 'kubegate');
    await first.close();

    const second = await openSqliteStore(file);
    try {
      assert.equal((await second.getUserByUsername('alice'))?.groups[0], 'ops');
      assert.deepEqual(await second.getSettings(), { title: 'kubegate' });
    } finally {
      await second.close();
    }
    const versions = inspect(file, (db) => db.prepare('select version from schema_migrations order by version').pluck().all());
    assert.deepEqual(versions, MIGRATIONS.map((m) => m.version));
  });

  it('numbers migrations from 1, strictly increasing', () => {
    // Versions are assigned per piece of work (issue 17's is 6 while 3 to 5 land beside it), so a
    // list may have a gap for a while; it may never go back or repeat.
    const versions = MIGRATIONS.map((m) => m.version);
    assert.equal(versions[0], 1);
    for (let i = 1; i < versions.length; i++) assert.ok(versions[i]! > versions[i - 1]!, `migration ${versions[i]} after ${versions[i - 1]}`);
  });

  it('refuses a database migrated by a newer kubegate', async () => {
    const file = join(dir, 'newer.db');
    await (await openSqliteStore(file)).close();
    const db = new Database(file);
    db.prepare('insert into schema_migrations (version, name, applied_at) values (?, ?, ?)').run(999, 'future', Date.now());
    db.close();
    await assert.rejects(openSqliteStore(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /schema version 999 is newer/);
      return true;
    });
  });

  it('fails with a clear error when the directory cannot exist', async () => {
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, 'not a directory');
    for (const file of [join(notADir, 'kubegate.db'), join(dir, 'missing', 'kubegate.db')]) {
      await assert.rejects(openSqliteStore(file), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        assert.ok(err.message.includes(`cannot open SQLite database "${file}"`), err.message);
        return true;
      });
    }
  });

  it('fails with a clear error when the file is not a database', async () => {
    const file = join(dir, 'garbage.db');
    writeFileSync(file, 'x'.repeat(4096));
    await assert.rejects(openSqliteStore(file), /cannot open SQLite database .*garbage\.db/);
  });
});
