/** The state file: atomic replacement, validation, refusal of corrupt or foreign files. */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { readState, statePath, writeState, type SavedState } from '../../src/webhook/state-file.js';
import { alice, tokenFor } from './fixtures.js';

function state(revision: number): SavedState {
  return {
    clusterId: 'prod',
    gateway: 'https://gw.example.com/',
    syncedAt: new Date('2030-01-01T00:00:00.000Z'),
    snapshot: { epoch: 'e1', revision, tokens: [tokenFor(alice).synced], users: [alice] },
  };
}

describe('state file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is absent at first', () => {
    assert.equal(readState(dir, 'prod'), undefined);
  });

  it('round-trips, is private, and leaves no temp files', async () => {
    const saved = state(3);
    await writeState(dir, saved);
    assert.deepEqual(readState(dir, 'prod'), saved);
    assert.equal((await stat(statePath(dir))).mode & 0o777, 0o600);
    await writeState(dir, state(4));
    assert.equal(readState(dir, 'prod')?.snapshot.revision, 4);
    assert.deepEqual(await readdir(dir), ['authn-state.json']);
  });

  it('never holds a token secret', async () => {
    const { issued, synced } = tokenFor(alice);
    await writeState(dir, { ...state(1), snapshot: { epoch: 'e', revision: 1, tokens: [synced], users: [alice] } });
    const text = await readFile(statePath(dir), 'utf8');
    assert.ok(!text.includes(issued.secret));
    assert.ok(text.includes(issued.secretHash));
  });

  it('replaces atomically: concurrent writers leave one whole file', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeState(dir, state(i))));
    const read = readState(dir, 'prod');
    assert.ok(read && read.snapshot.revision >= 0 && read.snapshot.revision < 20);
    assert.deepEqual(await readdir(dir), ['authn-state.json']);
  });

  it('ignores a temp file left by a crash mid-write', async () => {
    await writeState(dir, state(5));
    await writeFile(join(dir, '.authn-state.json.deadbeef.tmp'), '{"kind":"Kubegate');
    assert.equal(readState(dir, 'prod')?.snapshot.revision, 5);
  });

  const corrupt: Array<[string, string]> = [
    ['truncated', '{"kind":"KubegateWebhookState","version":1,'],
    ['empty', ''],
    ['not an object', '[]'],
    ['a wrong kind', JSON.stringify({ kind: 'Other' })],
    ['a bad hash', 'HASH'],
    ['an unknown field', 'EXTRA'],
  ];
  for (const [name, content] of corrupt) {
    it(`refuses a corrupt file: ${name}`, async () => {
      let text = content;
      if (content === 'HASH' || content === 'EXTRA') {
        await writeState(dir, state(1));
        const json = JSON.parse(await readFile(statePath(dir), 'utf8'));
        if (content === 'HASH') json.tokens[0].secretHash = 'not-hex';
        else json.surprise = true;
        text = JSON.stringify(json);
      }
      await writeFile(statePath(dir), text);
      assert.throws(
        () => readState(dir, 'prod'),
        (err: unknown) => err instanceof ConfigError && /state file .*authn-state\.json is corrupt/.test(err.message) && !err.message.includes('\n'),
      );
    });
  }

  it('refuses a file of another cluster', async () => {
    await writeState(dir, state(1));
    assert.throws(() => readState(dir, 'dev'), /holds cluster "prod", not "dev"/);
  });
});
