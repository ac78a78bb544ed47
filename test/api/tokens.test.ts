/** `GET/POST /v1/tokens`, `DELETE /v1/tokens/{id}` (docs/reference/api.md, tokens.md). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertApiError, putMember, putSetting, registerCluster, TOKEN_PATTERN } from './fixtures.js';

const MINUTE = 60_000;
const TOKEN_VIEW_KEYS = ['tokenId', 'kind', 'description', 'userId', 'clusterId', 'createdAt', 'expiresAt', 'lastUsedAt'];

describe('tokens API', () => {
  let gw: TestGateway;
  const now = Date.parse('2030-06-01T12:00:00Z');
  let admin: string;
  let alice: string;
  let bob: string;
  let aliceId: string;
  let bobId: string;

  before(async () => {
    gw = await startTestGateway([], { clock: () => now });
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    aliceId = await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
    bobId = await createUser(gw, admin, { username: 'bob', password: 'bob-password' });
    alice = await login(gw, 'alice', 'alice-password');
    bob = await login(gw, 'bob', 'bob-password');
    await registerCluster(gw, admin, 'reach');
    await registerCluster(gw, admin, 'other');
    await putMember(gw, admin, 'reach', 'user:alice');
  });
  after(async () => {
    await gw.stop();
  });

  async function create(token: string, body: Record<string, unknown> = {}) {
    const res = await call(gw, 'POST', '/v1/tokens', { token, body });
    assert.equal(res.status, 201, res.text);
    return res.body as { token: string; tokenId: string; expiresAt: string | null; clusterId: string | null };
  }

  async function list(token: string, query = '') {
    const res = await call(gw, 'GET', `/v1/tokens${query}`, { token });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body), ['items']);
    return res.body.items as Record<string, unknown>[];
  }

  it('creates a token: 201 {token,tokenId,expiresAt,clusterId}, the token works', async () => {
    const res = await call(gw, 'POST', '/v1/tokens', { token: alice, body: { description: 'ci' } });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['clusterId', 'expiresAt', 'token', 'tokenId']);
    const m = TOKEN_PATTERN.exec(res.body.token);
    assert.ok(m, `token shape: ${res.body.token}`);
    assert.equal(res.body.tokenId, m[1]);
    assert.equal(res.body.clusterId, null);
    const me = await call(gw, 'GET', '/v1/me', { token: res.body.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.username, 'alice');
    assert.equal(me.body.tokenId, res.body.tokenId);
  });

  it('shows the secret only in the create answer, never in a list', async () => {
    const created = await create(alice, { description: 'secret-check' });
    const secret = created.token.split('.')[1]!;
    const own = await call(gw, 'GET', '/v1/tokens', { token: alice });
    const all = await call(gw, 'GET', '/v1/tokens?all=true', { token: admin });
    for (const res of [own, all]) {
      assert.ok(res.text.includes(created.tokenId), 'the token is listed');
      assert.ok(!res.text.includes(secret), 'the secret is not listed');
      assert.ok(!res.text.includes(created.token), 'the token string is not listed');
      assert.ok(!/kgt_/.test(res.text), 'no bearer token in the list');
      assert.ok(!/secretHash|hash/i.test(res.text), 'no hash in the list');
    }
  });

  it('lists tokens exactly as {tokenId,kind,description,userId,clusterId,createdAt,expiresAt,lastUsedAt}', async () => {
    const created = await create(alice, { description: 'shape', ttlSeconds: 600 });
    const item = (await list(alice)).find((t) => t.tokenId === created.tokenId);
    assert.ok(item, 'the new token is listed');
    assert.deepEqual(Object.keys(item), TOKEN_VIEW_KEYS);
    assert.equal(item.kind, 'api');
    assert.equal(item.description, 'shape');
    assert.equal(item.userId, aliceId);
    assert.equal(item.clusterId, null);
    assert.equal(item.expiresAt, new Date(now + 600_000).toISOString());
    assert.equal(item.expiresAt, created.expiresAt);
    assert.ok(!Number.isNaN(Date.parse(item.createdAt as string)), 'createdAt is a date');
    assert.equal(item.lastUsedAt, null);
    // A login is listed as kind "session".
    assert.ok((await list(alice)).some((t) => t.kind === 'session' && t.description === 'login'), 'a login is listed as a session token');
  });

  it('lists only your own tokens; ?all=true is for admins (403 otherwise)', async () => {
    const bobs = await create(bob, { description: 'bob-token' });
    const aliceItems = await list(alice);
    assert.ok(aliceItems.length > 0, 'alice has tokens');
    assert.ok(aliceItems.every((t) => t.userId === aliceId), 'only alice\'s tokens are listed');
    assert.ok(!aliceItems.some((t) => t.tokenId === bobs.tokenId), 'bob\'s token is not listed to alice');

    assertApiError(await call(gw, 'GET', '/v1/tokens?all=true', { token: alice }), 403, 'Forbidden');

    const adminOwn = await list(admin);
    assert.ok(!adminOwn.some((t) => t.userId !== adminOwn[0]!.userId), 'an admin without ?all sees only their own tokens');
    const all = await list(admin, '?all=true');
    const owners = new Set(all.map((t) => t.userId));
    assert.ok(owners.has(aliceId) && owners.has(bobId), '?all=true lists every user\'s tokens');
    // Registering a cluster made an agent token, owned by no user.
    assert.ok(all.some((t) => t.kind === 'agent' && t.userId === null && t.clusterId === 'reach'), 'the agent token is listed');
  });

  it('defaults the TTL to auth-token-max-ttl-minutes and caps a longer request by it', async () => {
    const dflt = await create(alice);
    assert.equal(dflt.expiresAt, new Date(now + 129_600 * MINUTE).toISOString());
    const asked = await create(alice, { ttlSeconds: 3600 });
    assert.equal(asked.expiresAt, new Date(now + 3600_000).toISOString());

    await putSetting(gw, admin, 'auth-token-max-ttl-minutes', 90);
    try {
      const capped = await create(alice, { ttlSeconds: 86_400 });
      assert.equal(capped.expiresAt, new Date(now + 90 * MINUTE).toISOString());
      const capDefault = await create(alice);
      assert.equal(capDefault.expiresAt, new Date(now + 90 * MINUTE).toISOString());
      const under = await create(alice, { ttlSeconds: 60 });
      assert.equal(under.expiresAt, new Date(now + 60_000).toISOString());
    } finally {
      await putSetting(gw, admin, 'auth-token-max-ttl-minutes', 129_600);
    }
  });

  it('validates the body', async () => {
    assertApiError(await call(gw, 'POST', '/v1/tokens', { token: alice, body: { ttlSeconds: 0 } }), 400, 'BadRequest', /^ttlSeconds: /);
    assertApiError(await call(gw, 'POST', '/v1/tokens', { token: alice, body: { ttlSeconds: '60' } }), 400, 'BadRequest', /^ttlSeconds: /);
    assertApiError(await call(gw, 'POST', '/v1/tokens', { token: alice, body: { description: 7 } }), 400, 'BadRequest', /^description: /);
    assertApiError(await call(gw, 'POST', '/v1/tokens', { token: alice, body: { kind: 'agent' } }), 400, 'BadRequest', /unknown field "kind"/);
    assertApiError(await call(gw, 'POST', '/v1/tokens', { token: alice, body: { clusterId: 'Not_A_Label' } }), 400, 'BadRequest', /^clusterId: /);
  });

  it('makes cluster-scoped tokens only for clusters the caller reaches', async () => {
    const scoped = await create(alice, { clusterId: 'reach' });
    assert.equal(scoped.clusterId, 'reach');
    assert.equal((await call(gw, 'GET', '/v1/me', { token: scoped.token })).body.clusterId, 'reach');
    const forbidden = await call(gw, 'POST', '/v1/tokens', { token: alice, body: { clusterId: 'other' } });
    const unknown = await call(gw, 'POST', '/v1/tokens', { token: alice, body: { clusterId: 'nowhere' } });
    assertApiError(forbidden, 403, 'Forbidden');
    assertApiError(unknown, 403, 'Forbidden');
    assert.equal(forbidden.body.error.message.replace('other', 'X'), unknown.body.error.message.replace('nowhere', 'X'));
    assert.equal((await create(admin, { clusterId: 'other' })).clusterId, 'other');
  });

  it('deletes your own token (204) and it stops working', async () => {
    const created = await create(alice, { description: 'delete-me' });
    const res = await call(gw, 'DELETE', `/v1/tokens/${created.tokenId}`, { token: alice });
    assert.equal(res.status, 204);
    assert.ok(!(await list(alice)).some((t) => t.tokenId === created.tokenId), 'the deleted token is not listed');
    assertApiError(await call(gw, 'GET', '/v1/me', { token: created.token }), 401, 'Unauthorized');
    assertApiError(await call(gw, 'DELETE', `/v1/tokens/${created.tokenId}`, { token: alice }), 404, 'NotFound');
  });

  it("answers 404 to a non-admin deleting someone else's token, exactly as for an unknown id", async () => {
    const bobs = await create(bob, { description: 'not-yours' });
    const theirs = await call(gw, 'DELETE', `/v1/tokens/${bobs.tokenId}`, { token: alice });
    const unknown = await call(gw, 'DELETE', '/v1/tokens/t-aaaaaaaaaaaaaaaa', { token: alice });
    assertApiError(theirs, 404, 'NotFound');
    assert.equal(theirs.text, unknown.text);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: bobs.token })).status, 200);
    assert.ok((await list(bob)).some((t) => t.tokenId === bobs.tokenId), 'bob\'s token survives');
  });

  it("lets an admin delete anyone's token", async () => {
    const bobs = await create(bob, { description: 'admin-deletes' });
    assert.equal((await call(gw, 'GET', '/v1/me', { token: bobs.token })).status, 200);
    assert.equal((await call(gw, 'DELETE', `/v1/tokens/${bobs.tokenId}`, { token: admin })).status, 204);
    assertApiError(await call(gw, 'GET', '/v1/me', { token: bobs.token }), 401, 'Unauthorized');
    assert.ok(!(await list(bob)).some((t) => t.tokenId === bobs.tokenId), 'bob\'s token is gone');
  });

  it('needs a valid token for every tokens endpoint', async () => {
    assertApiError(await call(gw, 'GET', '/v1/tokens'), 401, 'Unauthorized');
    assertApiError(await call(gw, 'POST', '/v1/tokens', { body: {} }), 401, 'Unauthorized');
    assertApiError(await call(gw, 'DELETE', '/v1/tokens/t-aaaaaaaaaaaaaaaa'), 401, 'Unauthorized');
  });
});
