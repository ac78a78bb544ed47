/** Everyday kubectl work through the gateway against the kube-apiserver double (docs/reference/api.md, identity.md). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayKubeconfig, kubectl, kubectlUntil, memberUser, startProxyWorld, watchReceived, type ProxyWorld } from '../support/cluster.js';

describe('kubectl through the gateway', () => {
  let world: ProxyWorld;
  let kubeconfig: string;
  let alice: Awaited<ReturnType<typeof memberUser>>;

  before(async () => {
    world = await startProxyWorld({ double: { logFollowIntervalMs: 100 } });
    alice = await memberUser(world, { username: 'alice', groups: ['dev', 'ops'] });
    kubeconfig = await gatewayKubeconfig(world, alice.token);
  });
  after(() => world.stop());

  it('gets namespaces', async () => {
    const r = await kubectl(kubeconfig, ['get', 'ns', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace\/default/);
    assert.match(r.stdout, /namespace\/kube-system/);
  });

  it('creates, gets and deletes a configmap', async () => {
    const created = await kubectl(kubeconfig, ['create', 'configmap', 'settings', '--from-literal=a=b']);
    assert.equal(created.code, 0, created.stderr);
    const got = await kubectl(kubeconfig, ['get', 'configmap', 'settings', '-o', 'jsonpath={.data.a}']);
    assert.equal(got.stdout, 'b');
    const deleted = await kubectl(kubeconfig, ['delete', 'configmap', 'settings']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await kubectl(kubeconfig, ['get', 'configmap', 'settings']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound|not found/);
  });

  it('watches: an object created while watching appears', async () => {
    const watch = kubectlUntil(kubeconfig, ['get', 'configmaps', '-w', '-o', 'name'], /configmap\/watched/);
    // Create the object only once the watch (after kubectl's list) has reached the cluster.
    await watchReceived(() => world.double.requests, 'configmaps');
    const created = await kubectl(kubeconfig, ['create', 'configmap', 'watched']);
    assert.equal(created.code, 0, created.stderr);
    try {
      assert.match(await watch.matched, /configmap\/watched/);
    } finally {
      watch.stop();
    }
  });

  it('reads logs and follows them', async () => {
    const logs = await kubectl(kubeconfig, ['logs', 'web-0']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.ok(logs.stdout.trim().length > 0);
    const follow = kubectlUntil(kubeconfig, ['logs', '-f', 'web-0'], /(.*\n){4}/);
    try {
      await follow.matched;
    } finally {
      follow.stop();
    }
  });

  it('execs with stdin over WebSocket', async () => {
    const r = await kubectl(kubeconfig, ['exec', '-i', 'web-0', '--', 'cat'], { input: 'hello through kubegate\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello through kubegate\n');
  });

  it('auth whoami shows exactly the identity of docs/reference/identity.md', async () => {
    const r = await kubectl(kubeconfig, ['auth', 'whoami', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout).status.userInfo;
    assert.equal(info.username, 'alice');
    assert.equal(info.uid, alice.id);
    assert.deepEqual(info.groups, ['dev', 'ops', 'kubegate:role:member', 'kubegate:authenticated', 'system:authenticated']);
    assert.deepEqual(info.extra, { 'kubegate.io/token-id': [alice.tokenId] });
  });

  it('every request reached the cluster as alice, authenticated as the gateway, without her token', () => {
    const seen = world.double.requests;
    assert.ok(seen.length > 10);
    for (const r of seen) {
      assert.equal(r.authenticatedAs?.username, 'system:serviceaccount:kubegate:kubegate-impersonator', r.path);
      assert.equal(r.effective?.username, 'alice', r.path);
      const text = JSON.stringify(r.rawHeaders);
      assert.ok(!text.includes(alice.token), `client token reached the cluster on ${r.path}`);
      assert.ok(!text.includes(alice.token.split('.')[1]!), 'token secret reached the cluster');
    }
  });
});
