/**
 * Issue 14, finding 5: one client's failures must not lock anyone else out. On the proxy a valid
 * token is never throttled, whatever its address has done; failures slow down only further
 * failures, per address and per token prefix. Logins lock per (username, address) pair and per
 * address; a username failing from anywhere only delays its attempts, so the right password from
 * another address still logs in. Addresses differ through `X-Forwarded-For` from a trusted peer
 * (a balancer in front of the gateway, where every client shares the balancer's address).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';

const BAD = (i: number, id = 'aaaaaaaaaaaaaaaa') => `kgt_t-${id}.${String(i).padStart(43, 'x')}`;

describe('throttling never locks out a valid credential', () => {
  let world: ProxyWorld;
  let alice: Awaited<ReturnType<typeof memberUser>>;
  const from = (address: string) => ({ 'X-Forwarded-For': address });
  const proxied = (token: string, address: string) => call(world.gw, 'GET', `/k8s/clusters/${world.clusterId}/api/v1/namespaces`, { token, headers: from(address) });
  const loginAs = (username: string, password: string, address: string) => call(world.gw, 'POST', '/v1/login', { body: { username, password }, headers: from(address) });

  before(async () => {
    world = await startProxyWorld({ flags: ['--trust-proxy', '127.0.0.1/32'] });
    alice = await memberUser(world, { username: 'alice' });
  });
  after(() => world.stop());

  it("a stale token's failures from one address never throttle other users' valid tokens there", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await proxied(BAD(i, `stale${String(i).padStart(11, 'a')}`), '10.1.1.1')).status);
    assert.equal(statuses.slice(0, 50).every((s) => s === 401), true);
    assert.equal(statuses.at(-1), 429, 'further failures from the address are slowed down');

    world.double.clearRequests();
    const ok = await proxied(alice.token, '10.1.1.1');
    assert.equal(ok.status, 200, 'a valid token from the same address goes through');
    assert.equal(world.double.requests.at(-1)?.effective?.username, 'alice');
    // Another address's failures are its own.
    assert.equal((await proxied(BAD(0, 'bbbbbbbbbbbbbbbb'), '10.2.2.2')).status, 401);
  });

  it('the same bad token is slowed down from every address (per token prefix)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 55; i++) statuses.push((await proxied(BAD(i, 'cccccccccccccccc'), `10.3.0.${i}`)).status);
    assert.equal(statuses.at(-1), 429);
    assert.equal((await proxied(alice.token, '10.3.0.54')).status, 200);
  });

  it("a stranger's failed logins do not keep a user from logging in with the right password elsewhere", async () => {
    const bob = await memberUser(world, { username: 'bob' });
    for (let i = 0; i < 8; i++) {
      const r = await loginAs('bob', 'wrong-password', '10.9.9.9');
      assert.ok(r.status === 401 || r.status === 429, String(r.status));
    }
    // The stranger's own pair is locked, even for the right password (no guessing through it)…
    assert.equal((await loginAs('bob', bob.password, '10.9.9.9')).status, 429);
    // …but bob, from his own address, logs in (delayed, never refused), and his token works.
    const mine = await loginAs('bob', bob.password, '10.4.4.4');
    assert.equal(mine.status, 201, mine.text);
    world.double.clearRequests();
    assert.equal((await proxied(mine.body.token, '10.4.4.4')).status, 200);
    assert.equal(world.double.requests.at(-1)?.effective?.username, 'bob');
  });
});
