/** The gateway side of the sync feed: what a page holds, and incremental semantics over the change log. */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { issueToken } from '../../src/auth/tokens.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { NewToken, NewUser, Store } from '../../src/store/store.js';
import { AuthnFeed } from '../../src/sync/authn-feed.js';
import { AuthnSyncSchema, type AuthnSync } from '../../src/sync/protocol.js';

const user = (username: string, extra: Partial<NewUser> = {}): NewUser => ({
  id: `u-${username}`,
  username,
  passwordHash: 'h',
  groups: [],
  admin: false,
  enabled: true,
  ...extra,
});

describe('AuthnFeed', () => {
  let store: Store;
  let feed: AuthnFeed;
  const secrets: string[] = [];

  async function token(id: string, extra: Partial<NewToken> = {}): Promise<void> {
    const issued = issueToken();
    secrets.push(issued.secret);
    await store.createToken({ id, kind: 'kubeconfig', userId: 'u-alice', clusterId: 'prod', description: '', secretHash: issued.secretHash, expiresAt: null, ...extra });
  }

  /** A page, checked against the wire schema and for secrets. */
  async function next(since: AuthnSync): Promise<AuthnSync> {
    const page = await feed.since('prod', since.revision, since.epoch);
    AuthnSyncSchema.parse(page);
    for (const s of secrets) assert.ok(!JSON.stringify(page).includes(s), 'a page never holds a secret');
    return page;
  }

  const summary = (p: AuthnSync) => ({
    full: p.full,
    tokens: p.tokens.map((t) => t.id).sort(),
    users: p.users.map((u) => `${u.username}:${u.enabled ? 'on' : 'off'}:${u.member ? 'member' : 'outsider'}`).sort(),
    deletedTokens: [...p.deletedTokens].sort(),
  });

  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
    feed = new AuthnFeed(store);
    for (const id of ['prod', 'dev']) {
      await store.createCluster({ id, name: id, connection: 'direct', server: 'https://k', insecureSkipTLSVerify: false, credential: { token: 'x' }, authorizedEndpoint: { enabled: true, controlPlaneNodes: [] } });
    }
    await store.createUser(user('alice', { groups: ['dev'] }));
    await store.createUser(user('bob', { groups: ['ops'] }));
    await store.createUser(user('root', { admin: true }));
    await store.createUser(user('eve'));
    await store.putMember({ clusterId: 'prod', principal: 'user:alice', role: 'member' });
    await store.putMember({ clusterId: 'prod', principal: 'group:ops', role: 'member' });
  });
  afterEach(async () => {
    await store.close();
  });

  it('sends a full copy of the cluster-scoped tokens and their users, members or not', async () => {
    await token('t-alice');
    await token('t-bob', { userId: 'u-bob', kind: 'session' });
    await token('t-root', { userId: 'u-root', kind: 'api' });
    await token('t-eve', { userId: 'u-eve' });
    await token('t-dev', { clusterId: 'dev' });
    await token('t-unscoped', { clusterId: null, kind: 'api' });
    await token('t-agent', { userId: null, kind: 'agent' });
    const full = await feed.full('prod');
    AuthnSyncSchema.parse(full);
    assert.equal(full.revision, (await store.getRevision()).revision);
    assert.deepEqual(summary(full), {
      full: true,
      tokens: ['t-alice', 't-bob', 't-eve', 't-root'],
      users: ['alice:on:member', 'bob:on:member', 'eve:on:outsider', 'root:on:member'],
      deletedTokens: [],
    });
    const alice = full.tokens.find((t) => t.id === 't-alice')!;
    assert.deepEqual(Object.keys(alice).sort(), ['expiresAt', 'id', 'kind', 'secretHash', 'userId']);
    assert.deepEqual(full.users.find((u) => u.id === 'u-alice'), { id: 'u-alice', username: 'alice', groups: ['dev'], enabled: true, member: true, roles: ['member'] });
    // Admins hold owner everywhere; a user holds every role their memberships give here.
    assert.deepEqual(full.users.find((u) => u.id === 'u-root')?.roles, ['owner']);
    assert.deepEqual(full.users.find((u) => u.id === 'u-eve')?.roles, []);
  });

  it('sends the roles a user holds on this cluster, and resends them when a membership changes', async () => {
    await store.createRole({ name: 'deployer', clusterRole: 'edit' });
    await store.putMember({ clusterId: 'prod', principal: 'group:dev', role: 'deployer' });
    await store.putMember({ clusterId: 'dev', principal: 'user:alice', role: 'owner' });
    await token('t-alice');
    const full = await feed.full('prod');
    assert.deepEqual(full.users.find((u) => u.id === 'u-alice')?.roles, ['member', 'deployer']);
    await store.putMember({ clusterId: 'prod', principal: 'user:alice', role: 'viewer' });
    const page = await next(full);
    assert.deepEqual(page.users.map((u) => [u.username, u.roles]), [['alice', ['viewer', 'deployer']]]);
  });

  it('answers an unchanged revision with an empty delta', async () => {
    const full = await feed.full('prod');
    const page = await next(full);
    assert.deepEqual(summary(page), { full: false, tokens: [], users: [], deletedTokens: [] });
    assert.equal(page.revision, full.revision);
  });

  it('sends only what changed, for this cluster only', async () => {
    const full = await feed.full('prod');
    await token('t-new', { expiresAt: new Date('2031-01-01T00:00:00Z') });
    await token('t-dev', { clusterId: 'dev' });
    await token('t-unscoped', { clusterId: null });
    await store.updateUser('u-eve', { enabled: false });
    const page = await next(full);
    assert.deepEqual(summary(page), { full: false, tokens: ['t-new'], users: ['alice:on:member'], deletedTokens: [] });
    assert.equal(page.tokens[0]!.expiresAt, '2031-01-01T00:00:00.000Z');
    assert.deepEqual(summary(await next(page)), { full: false, tokens: [], users: [], deletedTokens: [] });
  });

  it('sends revocations: token deleted, user disabled, membership removed, user deleted', async () => {
    await token('t-alice');
    await token('t-alice-2');
    await token('t-bob', { userId: 'u-bob' });
    let page = await feed.full('prod');

    await store.deleteToken('t-alice-2');
    page = await next(page);
    assert.deepEqual(summary(page), { full: false, tokens: [], users: [], deletedTokens: ['t-alice-2'] });

    await store.updateUser('u-alice', { enabled: false });
    page = await next(page);
    assert.deepEqual(summary(page), { full: false, tokens: [], users: ['alice:off:member'], deletedTokens: [] });

    await store.deleteMember('prod', 'group:ops');
    page = await next(page);
    assert.deepEqual(summary(page), { full: false, tokens: [], users: ['alice:off:member', 'bob:on:outsider'], deletedTokens: [] });

    await store.updateUser('u-bob', { groups: ['ops'], admin: true });
    page = await next(page);
    assert.deepEqual(summary(page), { full: false, tokens: [], users: ['bob:on:member'], deletedTokens: [] });

    await store.deleteUser('u-bob');
    page = await next(page);
    assert.deepEqual(summary(page), { full: false, tokens: [], users: [], deletedTokens: ['t-bob'] });
  });

  it('ignores changes the webhook does not need', async () => {
    await token('t-alice');
    const full = await feed.full('prod');
    await store.updateUser('u-alice', { passwordHash: 'new' });
    await store.touchTokens(new Map([['t-alice', new Date()]]));
    await store.putMember({ clusterId: 'dev', principal: 'user:alice', role: 'owner' });
    const page = await next(full);
    assert.deepEqual(summary(page), { full: false, tokens: [], users: [], deletedTokens: [] });
  });

  it('starts over with a full copy when the revision cannot be continued', async () => {
    await token('t-alice');
    const full = await feed.full('prod');
    assert.equal((await feed.since('prod', full.revision, 'another-db')).full, true, 'another database');
    assert.equal((await feed.since('prod', full.revision + 5, full.epoch)).full, true, 'a revision from the future');
    await token('t-later');
    await store.pruneChanges(new Date(Date.now() + 60_000));
    const after = await feed.since('prod', full.revision, full.epoch);
    assert.deepEqual(summary(after), { full: true, tokens: ['t-alice', 't-later'], users: ['alice:on:member'], deletedTokens: [] });
  });

  it('is idempotent when a change lands while a page is built', async () => {
    await token('t-alice');
    const full = await feed.full('prod');
    await store.deleteToken('t-alice');
    const first = await next(full);
    // Replaying from the same revision yields the same current state.
    assert.deepEqual(summary(await next(full)), summary(first));
  });
});
