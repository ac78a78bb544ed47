/** The webhook's in-memory copy: what it accepts (docs/reference/webhook.md) and how sync pages change it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthnCopy } from '../../src/webhook/authn-copy.js';
import { alice, page, tokenFor } from './fixtures.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');

describe('AuthnCopy', () => {
  it('is not loaded until a full copy arrives', () => {
    const copy = new AuthnCopy('prod', () => NOW);
    assert.equal(copy.loaded, false);
    assert.equal(copy.cursor, undefined);
    copy.apply(page({ revision: 7 }));
    assert.equal(copy.loaded, true);
    assert.deepEqual(copy.cursor, { epoch: 'e1', revision: 7 });
  });

  it('accepts a synced token with the identity of docs/reference/identity.md', () => {
    const { issued, synced } = tokenFor(alice);
    const copy = new AuthnCopy('prod', () => NOW);
    copy.apply(page({ tokens: [synced], users: [alice] }));
    assert.deepEqual(copy.review(issued.token), {
      authenticated: true,
      user: { username: 'alice', uid: 'u-alice', groups: ['dev', 'ops', 'kubegate:authenticated'], extra: { 'kubegate.io/token-id': [issued.id] } },
    });
  });

  it('refuses what docs/reference/webhook.md refuses', () => {
    const good = tokenFor(alice);
    const expired = tokenFor(alice, { expiresAt: new Date(NOW).toISOString() });
    const later = tokenFor(alice, { expiresAt: new Date(NOW + 1000).toISOString() });
    const bob = { ...alice, id: 'u-bob', username: 'bob', enabled: false };
    const carol = { ...alice, id: 'u-carol', username: 'carol', member: false };
    const ofBob = tokenFor(bob);
    const ofCarol = tokenFor(carol);
    const unknown = tokenFor(alice);
    const copy = new AuthnCopy('prod', () => NOW);
    copy.apply(page({ tokens: [good.synced, expired.synced, later.synced, ofBob.synced, ofCarol.synced], users: [alice, bob, carol] }));
    const wrongSecret = `${good.issued.token.slice(0, -4)}AAAA`;
    const cases: Array<[string, string, string]> = [
      ['expired (local clock)', expired.issued.token, 'token has expired'],
      ['disabled user', ofBob.issued.token, 'user is disabled'],
      ['not a member', ofCarol.issued.token, 'user is not a member of this cluster'],
      ['unknown token', unknown.issued.token, 'invalid token'],
      ['wrong secret', wrongSecret, 'invalid token'],
      ['not ours', 'eyJhbGciOiJSUzI1NiJ9.e30.sig', 'not a kubegate token'],
      ['empty', '', 'not a kubegate token'],
    ];
    for (const [name, token, error] of cases) assert.deepEqual(copy.review(token), { authenticated: false, error }, name);
    assert.equal(copy.review(later.issued.token).authenticated, true);
  });

  it('applies deltas: upserts, deletions, and drops users without tokens', () => {
    const one = tokenFor(alice);
    const two = tokenFor(alice);
    const copy = new AuthnCopy('prod', () => NOW);
    copy.apply(page({ tokens: [one.synced], users: [alice] }));
    assert.equal(copy.apply(page({ full: false, revision: 2 })), false, 'an empty delta changes nothing');
    assert.deepEqual(copy.cursor, { epoch: 'e1', revision: 2 });

    assert.equal(copy.apply(page({ full: false, revision: 3, tokens: [two.synced], users: [alice] })), true);
    assert.equal(copy.review(two.issued.token).authenticated, true);
    copy.apply(page({ full: false, revision: 4, users: [{ ...alice, member: false }] }));
    assert.deepEqual(copy.review(one.issued.token), { authenticated: false, error: 'user is not a member of this cluster' });
    copy.apply(page({ full: false, revision: 5, users: [alice], deletedTokens: [one.synced.id] }));
    assert.equal(copy.review(one.issued.token).authenticated, false);
    assert.equal(copy.review(two.issued.token).authenticated, true);
    copy.apply(page({ full: false, revision: 6, deletedTokens: [two.synced.id, 't-neverseen'] }));
    assert.deepEqual(copy.size, { tokens: 0, users: 0 });
  });

  it('replaces everything on a full page and round-trips through a snapshot', () => {
    const one = tokenFor(alice);
    const two = tokenFor(alice);
    const copy = new AuthnCopy('prod', () => NOW);
    copy.apply(page({ tokens: [one.synced], users: [alice] }));
    copy.apply(page({ revision: 9, epoch: 'e2', tokens: [two.synced], users: [alice] }));
    assert.equal(copy.review(one.issued.token).authenticated, false);
    const restored = new AuthnCopy('prod', () => NOW);
    restored.restore(copy.snapshot());
    assert.deepEqual(restored.cursor, { epoch: 'e2', revision: 9 });
    assert.equal(restored.review(two.issued.token).authenticated, true);
    assert.deepEqual(restored.snapshot(), copy.snapshot());
  });
});
