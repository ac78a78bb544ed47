/**
 * Issue 14, finding 2: disabling a user ends their tokens for good (re-enabling, even with a new
 * password, brings none back); a password change ends the user's sessions except the one making a
 * self-service change; `POST /v1/users/{id}/revoke-tokens` ends them all. Asserted on what the
 * cluster received: an ended token never reaches it again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { call, login } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';

describe('ended tokens stay ended', () => {
  let world: ProxyWorld;
  const proxied = (token: string) => call(world.gw, 'GET', `/k8s/clusters/${world.clusterId}/api/v1/namespaces`, { token });
  const me = async (token: string) => (await call(world.gw, 'GET', '/v1/me', { token })).status;
  const apiToken = async (token: string) => (await call(world.gw, 'POST', '/v1/tokens', { token, body: { description: 'ci' } })).body.token as string;
  const storedTokens = async (userId: string) =>
    ((await call(world.gw, 'GET', '/v1/tokens?all=true', { token: world.adminToken })).body.items as Array<{ id: string; userId: string; kind: string }>).filter((t) => t.userId === userId);

  /** The request reached the cluster as `username`, or (for an ended token) nothing reached it. */
  async function reaches(token: string, username: string | null): Promise<void> {
    world.double.clearRequests();
    const res = await proxied(token);
    if (username === null) {
      assert.equal(res.status, 401);
      assert.equal(world.double.requests.length, 0, 'an ended token reaches nothing');
    } else {
      assert.equal(res.status, 200, res.text);
      assert.equal(world.double.requests.at(-1)?.effective?.username, username);
    }
  }

  before(async () => {
    world = await startProxyWorld();
  });
  after(() => world.stop());

  it('disabling ends every token; enabling again (with a new password) revives none', async () => {
    const alice = await memberUser(world, { username: 'alice' });
    const api = await apiToken(alice.token);
    await reaches(alice.token, 'alice');
    await reaches(api, 'alice');

    const disabled = await call(world.gw, 'PATCH', `/v1/users/${alice.id}`, { token: world.adminToken, body: { enabled: false } });
    assert.equal(disabled.status, 200);
    await reaches(alice.token, null);
    await reaches(api, null);
    assert.deepEqual(await storedTokens(alice.id), [], 'the tokens are deleted, not only refused');

    for (const body of [{ enabled: true }, { enabled: true, password: 'a-new-password-1' }]) {
      assert.equal((await call(world.gw, 'PATCH', `/v1/users/${alice.id}`, { token: world.adminToken, body })).status, 200);
      await reaches(alice.token, null);
      await reaches(api, null);
      assert.equal(await me(alice.token), 401);
      assert.equal(await me(api), 401);
    }
    // A fresh login works as usual.
    await reaches(await login(world.gw, 'alice', 'a-new-password-1'), 'alice');
  });

  it("an admin's password change ends the user's sessions; API tokens stay", async () => {
    const bob = await memberUser(world, { username: 'bob' });
    const second = await login(world.gw, 'bob', bob.password);
    const api = await apiToken(bob.token);
    assert.equal((await call(world.gw, 'PATCH', `/v1/users/${bob.id}`, { token: world.adminToken, body: { password: 'bob-new-password' } })).status, 200);
    await reaches(bob.token, null);
    await reaches(second, null);
    await reaches(api, 'bob');
    assert.deepEqual((await storedTokens(bob.id)).map((t) => t.kind), ['api']);
  });

  it('a self-service password change keeps the session making it and ends the others', async () => {
    const carol = await memberUser(world, { username: 'carol' });
    const other = await login(world.gw, 'carol', carol.password);
    const api = await apiToken(carol.token);
    const wrong = await call(world.gw, 'POST', '/v1/me/password', { token: carol.token, body: { currentPassword: 'not-it', password: 'carol-new-password' } });
    assert.equal(wrong.status, 400);
    await reaches(other, 'carol');

    const changed = await call(world.gw, 'POST', '/v1/me/password', { token: carol.token, body: { currentPassword: carol.password, password: 'carol-new-password' } });
    assert.equal(changed.status, 204, changed.text);
    await reaches(carol.token, 'carol');
    await reaches(other, null);
    await reaches(api, 'carol');
    await assert.rejects(login(world.gw, 'carol', carol.password));
    await reaches(await login(world.gw, 'carol', 'carol-new-password'), 'carol');
  });

  it('revoke-tokens ends every token of the user, for the user or an admin; nobody else may call it', async () => {
    const dave = await memberUser(world, { username: 'dave' });
    const erin = await memberUser(world, { username: 'erin' });
    const api = await apiToken(dave.token);
    const stranger = await call(world.gw, 'POST', `/v1/users/${dave.id}/revoke-tokens`, { token: erin.token });
    assert.equal(stranger.status, 403);
    await reaches(api, 'dave');

    const self = await call(world.gw, 'POST', `/v1/users/${dave.id}/revoke-tokens`, { token: dave.token });
    assert.equal(self.status, 200);
    assert.equal(self.body.revoked, 2);
    await reaches(dave.token, null);
    await reaches(api, null);

    const again = await login(world.gw, 'dave', dave.password);
    const byAdmin = await call(world.gw, 'POST', `/v1/users/${dave.id}/revoke-tokens`, { token: world.adminToken });
    assert.deepEqual([byAdmin.status, byAdmin.body.revoked], [200, 1]);
    await reaches(again, null);
    await reaches(erin.token, 'erin');
  });
});
