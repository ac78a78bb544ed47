import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CachedTokenAuthenticator } from '../../src/auth/verdict-cache.js';
import type { AuthResult, TokenAuthenticator, UserIdentity } from '../../src/auth/identity.js';
import { StoreUnavailableError } from '../../src/errors.js';

function identity(over: Partial<UserIdentity> & { tokenId?: string; expiresAt?: number | null } = {}): UserIdentity {
  return {
    kind: 'user',
    userId: over.userId ?? 'u-1',
    username: over.username ?? 'alice',
    groups: over.groups ?? ['dev'],
    admin: false,
    token: { id: over.tokenId ?? 't-1', kind: 'api', clusterId: null, expiresAt: over.expiresAt ?? null },
    clusterRoles: new Map(),
  };
}

/** A fake inner authenticator: counts lookups, answers from a table, can be made to fail. */
class Inner implements TokenAuthenticator {
  calls = 0;
  failing = false;
  delayMs = 0;
  constructor(public answers: Record<string, AuthResult>) {}
  async authenticate(token: string): Promise<AuthResult> {
    this.calls++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failing) throw new StoreUnavailableError(new Error('down'));
    return this.answers[token] ?? { authenticated: false, reason: 'unknown' };
  }
}

function setup(answers: Record<string, AuthResult>) {
  let now = 1_000_000;
  const inner = new Inner(answers);
  const cache = new CachedTokenAuthenticator(inner, { successTtlMs: 10_000, failureTtlMs: 2_000, maxEntries: 100, clock: () => now });
  return { inner, cache, advance: (ms: number) => (now += ms), now: () => now };
}

describe('CachedTokenAuthenticator', () => {
  it('caches a success for the success TTL, then looks up again', async () => {
    const { inner, cache, advance } = setup({ good: { authenticated: true, identity: identity() } });
    assert.equal((await cache.authenticate('good')).authenticated, true);
    advance(9_999);
    await cache.authenticate('good');
    assert.equal(inner.calls, 1);
    advance(2);
    await cache.authenticate('good');
    assert.equal(inner.calls, 2);
  });

  it('never caches a success past the token expiry', async () => {
    const t = setup({});
    t.inner.answers.soon = { authenticated: true, identity: identity({ expiresAt: t.now() + 3_000 }) };
    await t.cache.authenticate('soon');
    t.advance(2_999);
    await t.cache.authenticate('soon');
    assert.equal(t.inner.calls, 1);
    t.advance(2);
    await t.cache.authenticate('soon');
    assert.equal(t.inner.calls, 2, 'looked up again once the token expired');
  });

  it('caches failures for the failure TTL only', async () => {
    const { inner, cache, advance } = setup({});
    await cache.authenticate('bad');
    advance(1_999);
    await cache.authenticate('bad');
    assert.equal(inner.calls, 1);
    advance(2);
    await cache.authenticate('bad');
    assert.equal(inner.calls, 2);
  });

  it('does not cache store errors', async () => {
    const { inner, cache } = setup({ good: { authenticated: true, identity: identity() } });
    inner.failing = true;
    await assert.rejects(cache.authenticate('good'), StoreUnavailableError);
    inner.failing = false;
    assert.equal((await cache.authenticate('good')).authenticated, true);
    assert.equal(inner.calls, 2);
  });

  it('collapses 100 concurrent misses for one token into one lookup', async () => {
    const { inner, cache } = setup({ good: { authenticated: true, identity: identity() } });
    inner.delayMs = 20;
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.authenticate('good')));
    assert.equal(inner.calls, 1);
    assert.ok(results.every((r) => r.authenticated));
  });

  it('evicts by token, user and principal at once', async () => {
    const { inner, cache } = setup({
      a: { authenticated: true, identity: identity({ tokenId: 't-a', userId: 'u-1', username: 'alice', groups: ['dev'] }) },
      b: { authenticated: true, identity: identity({ tokenId: 't-b', userId: 'u-2', username: 'bob', groups: ['ops'] }) },
      c: { authenticated: true, identity: identity({ tokenId: 't-c', userId: 'u-3', username: 'carol', groups: ['qa'] }) },
    });
    for (const t of ['a', 'b', 'c']) await cache.authenticate(t);
    assert.equal(cache.size(), 3);
    cache.evict({ type: 'token', tokenId: 't-a' });
    assert.equal(cache.size(), 2);
    cache.evict({ type: 'principal', principal: 'group:ops' });
    assert.equal(cache.size(), 1);
    cache.evict({ type: 'user', userId: 'u-3' });
    assert.equal(cache.size(), 0);
    const before = inner.calls;
    await cache.authenticate('a');
    assert.equal(inner.calls, before + 1);
  });

  it('drops cached failures when a user changes, so a re-enabled user is let in at once', async () => {
    const { inner, cache } = setup({});
    await cache.authenticate('alice-token'); // refused while alice is disabled: a cached failure
    await cache.authenticate('alice-token');
    assert.equal(inner.calls, 1);
    inner.answers['alice-token'] = { authenticated: true, identity: identity() };
    cache.evict({ type: 'user', userId: 'u-1' }); // an admin enables alice again
    assert.equal((await cache.authenticate('alice-token')).authenticated, true);
    assert.equal(inner.calls, 2);
  });

  it('does not cache a lookup that raced a revocation', async () => {
    const { inner, cache } = setup({ good: { authenticated: true, identity: identity() } });
    inner.delayMs = 20;
    const pending = cache.authenticate('good');
    cache.evict({ type: 'token', tokenId: 't-1' });
    await pending;
    assert.equal(cache.size(), 0);
  });

  it('keys the cache by a salted hash, never by the raw token', async () => {
    const { cache } = setup({ 'kgt_secret-token': { authenticated: true, identity: identity() } });
    await cache.authenticate('kgt_secret-token');
    const keys = [...(cache as unknown as { cache: { keys(): Iterable<string> } }).cache.keys()];
    assert.equal(keys.length, 1);
    assert.ok(!keys[0]!.includes('secret-token'));
    assert.equal(Buffer.from(keys[0]!, 'base64').length, 32);
  });

  it('stays within its size bound', async () => {
    const answers: Record<string, AuthResult> = {};
    for (let i = 0; i < 150; i++) answers[`t${i}`] = { authenticated: true, identity: identity({ tokenId: `t-${i}` }) };
    const { cache } = setup(answers);
    for (let i = 0; i < 150; i++) await cache.authenticate(`t${i}`);
    assert.equal(cache.size(), 100);
  });
});
