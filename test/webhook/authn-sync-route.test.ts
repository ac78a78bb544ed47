/** `GET /v1/clusters/{id}/authn-sync` on a real gateway: who may call it, long-poll wake-ups, errors. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';

async function registerCluster(gw: TestGateway, adminToken: string, id: string): Promise<string> {
  const res = await call(gw, 'POST', '/v1/clusters', { token: adminToken, body: { id, server: 'https://127.0.0.1:1', credential: { token: 'x' } } });
  assert.equal(res.status, 201, res.text);
  return res.body.agentToken as string;
}

describe('authn-sync route', () => {
  let gw: TestGateway;
  let admin: string;
  let agent: string;
  let otherAgent: string;
  let alice: string;
  before(async () => {
    gw = await startTestGateway();
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    agent = await registerCluster(gw, admin, 'prod');
    otherAgent = await registerCluster(gw, admin, 'dev');
    await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
    await call(gw, 'PUT', '/v1/clusters/prod/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });
    alice = await login(gw, 'alice', 'alice-password', { clusterId: 'prod' });
  });
  after(async () => {
    await gw.stop();
  });

  it('takes only the agent token of that cluster', async () => {
    assert.equal((await call(gw, 'GET', '/v1/clusters/prod/authn-sync')).status, 401);
    assert.equal((await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: admin })).status, 403);
    assert.equal((await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: alice })).status, 403);
    const other = await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: otherAgent });
    assert.equal(other.status, 403);
    assert.equal(other.body.error.reason, 'Forbidden');
    // Agent tokens reach nothing else.
    assert.equal((await call(gw, 'GET', '/v1/me', { token: agent })).status, 403);
    assert.equal((await call(gw, 'GET', '/v1/clusters', { token: agent })).status, 403);
  });

  it('sends a full copy first, with hashes only', async () => {
    const res = await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: agent });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.body.full, true);
    assert.equal(res.body.clusterId, 'prod');
    const [token] = res.body.tokens;
    assert.equal(res.body.tokens.length, 1, 'only the cluster-scoped session of alice');
    assert.match(token.secretHash, /^[0-9a-f]{64}$/);
    assert.ok(!res.text.includes(alice.split('.')[1]!), 'never the secret');
    assert.deepEqual(res.body.users.map((u: { username: string }) => u.username), ['alice']);
  });

  it('rotates the agent token (admin only): the new one syncs, the old one stops at once', async () => {
    const spare = await registerCluster(gw, admin, 'rotating');
    assert.equal((await call(gw, 'GET', '/v1/clusters/rotating/authn-sync', { token: spare })).status, 200);
    assert.equal((await call(gw, 'POST', '/v1/clusters/rotating/agent-token', { token: alice })).status, 403);
    const rotated = await call(gw, 'POST', '/v1/clusters/rotating/agent-token', { token: admin });
    assert.equal(rotated.status, 201);
    assert.match(rotated.body.agentToken, /^kgt_t-/);
    assert.equal((await call(gw, 'GET', '/v1/clusters/rotating/authn-sync', { token: spare })).status, 401);
    assert.equal((await call(gw, 'GET', '/v1/clusters/rotating/authn-sync', { token: rotated.body.agentToken })).status, 200);
    assert.equal((await call(gw, 'POST', '/v1/clusters/missing/agent-token', { token: admin })).status, 404);
  });

  it('refuses malformed queries', async () => {
    for (const q of ['revision=abc', 'revision=1&waitSeconds=61', 'revision=1&waitSeconds=-1', 'revision=1&revision=2', 'revision=1&epoch=a%20b']) {
      const res = await call(gw, 'GET', `/v1/clusters/prod/authn-sync?${q}`, { token: agent });
      assert.equal(res.status, 400, q);
    }
  });

  it('long-polls: waits out the time when nothing changes', async () => {
    const full = (await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: agent })).body;
    const started = Date.now();
    const res = await call(gw, 'GET', `/v1/clusters/prod/authn-sync?revision=${full.revision}&epoch=${full.epoch}&waitSeconds=1`, { token: agent });
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started >= 900, 'held until the deadline');
    assert.deepEqual([res.body.full, res.body.tokens, res.body.users, res.body.deletedTokens], [false, [], [], []]);
  });

  it('long-polls: answers at once when a token of the cluster is revoked through the API', async () => {
    const extra = await login(gw, 'alice', 'alice-password', { clusterId: 'prod' });
    const full = (await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: agent })).body;
    const extraId = /^kgt_(t-[a-z2-7]+)\./.exec(extra)![1]!;
    const started = Date.now();
    const polled = call(gw, 'GET', `/v1/clusters/prod/authn-sync?revision=${full.revision}&epoch=${full.epoch}&waitSeconds=30`, { token: agent });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await call(gw, 'POST', '/v1/logout', { token: extra })).status, 204);
    const res = await polled;
    assert.ok(Date.now() - started < 1500, `woken promptly (${Date.now() - started} ms)`);
    assert.deepEqual(res.body.deletedTokens, [extraId]);
  });

  it('long-polls: sees a change another replica made, by polling the store', async () => {
    const full = (await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: agent })).body;
    const polled = call(gw, 'GET', `/v1/clusters/prod/authn-sync?revision=${full.revision}&epoch=${full.epoch}&waitSeconds=30`, { token: agent });
    await new Promise((r) => setTimeout(r, 200));
    // Straight to the store, as another gateway replica sharing the database would: no bus event here.
    const started = Date.now();
    const aliceId = full.users[0].id as string;
    await gw.store.updateUser(aliceId, { enabled: false });
    const res = await polled;
    assert.ok(Date.now() - started < 2500, `seen within the poll interval (${Date.now() - started} ms)`);
    assert.deepEqual(res.body.users.map((u: { enabled: boolean }) => u.enabled), [false]);
    await gw.store.updateUser(aliceId, { enabled: true });
  });

  it('keeps waiting past changes to other clusters', async () => {
    const full = (await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: agent })).body;
    const polled = call(gw, 'GET', `/v1/clusters/prod/authn-sync?revision=${full.revision}&epoch=${full.epoch}&waitSeconds=2`, { token: agent });
    await new Promise((r) => setTimeout(r, 200));
    await call(gw, 'PUT', '/v1/clusters/dev/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });
    const res = await polled;
    assert.deepEqual([res.body.full, res.body.tokens, res.body.users, res.body.deletedTokens], [false, [], [], []]);
    assert.ok(res.body.revision > full.revision, 'the revision still moves on');
  });
});

// Issue 15, bug 2: the body deadline (meant for uploads) cut every long-poll that outlived it.
describe('authn-sync long-polls outlive --body-timeout', () => {
  let gw: TestGateway;
  after(async () => {
    await gw?.stop();
  });

  it('a bodiless long-poll longer than --body-timeout is answered, a trickled body is still cut', async () => {
    gw = await startTestGateway(['--body-timeout', '1s']);
    const admin = await login(gw, 'admin', ADMIN_PASSWORD);
    const agent = await registerCluster(gw, admin, 'prod');
    const full = (await call(gw, 'GET', '/v1/clusters/prod/authn-sync', { token: agent })).body;
    const res = await call(gw, 'GET', `/v1/clusters/prod/authn-sync?revision=${full.revision}&epoch=${full.epoch}&waitSeconds=3`, { token: agent });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([res.body.full, res.body.tokens, res.body.deletedTokens], [false, [], []]);

    // The deadline still holds for what it is for: a body that never finishes.
    const cut = await new Promise<string>((resolve) => {
      const req = request(new URL('/v1/login', gw.url), { method: 'POST', agent: gw.agent, headers: { 'Content-Type': 'application/json', 'Content-Length': '100' } });
      req.on('response', (r) => resolve(`answered ${r.statusCode}`));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.write('{"username":');
    });
    assert.equal(cut, 'ECONNRESET');
  });
});
