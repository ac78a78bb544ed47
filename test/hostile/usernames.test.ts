/**
 * Issue 14, "also": usernames are unique whatever their letter case, so `Alice` cannot be created
 * beside `alice` (and pass for her in a membership or an audit line); logins find the user
 * whatever case was typed, and the cluster always sees the stored name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';

describe('usernames ignore letter case', () => {
  let world: ProxyWorld;
  before(async () => {
    world = await startProxyWorld();
  });
  after(() => world.stop());

  it('refuses Alice beside alice, logs in as ALICE, and the cluster sees alice', async () => {
    const alice = await memberUser(world, { username: 'alice' });
    for (const username of ['Alice', 'ALICE', 'aLiCe']) {
      const dup = await call(world.gw, 'POST', '/v1/users', { token: world.adminToken, body: { username, password: 'another-password' } });
      assert.equal(dup.status, 409, username);
    }
    const res = await call(world.gw, 'POST', '/v1/login', { body: { username: 'ALICE', password: alice.password } });
    assert.equal(res.status, 201, res.text);
    world.double.clearRequests();
    const proxied = await call(world.gw, 'GET', `/k8s/clusters/${world.clusterId}/api/v1/namespaces`, { token: res.body.token });
    assert.equal(proxied.status, 200);
    assert.equal(world.double.requests.at(-1)?.effective?.username, 'alice');
    assert.equal((await call(world.gw, 'POST', '/v1/login', { body: { username: 'ALICE', password: 'wrong-password' } })).status, 401);
  });
});
