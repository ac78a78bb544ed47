/**
 * Issue 15: exec and attach over SPDY/3.1 (remotecommand v4) end to end through the gateway, with
 * the kubectl versions that speak it by default (1.27–1.29) and, with WebSocket turned off
 * (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false), the later ones; the double frames SPDY as
 * kube-apiserver's kubelet path does. WebSocket exec is covered in kubectl-matrix.test.ts;
 * attach over WebSocket (the default from 1.30) here too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gatewayKubeconfig, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { discoverKubectls, kubectlFor } from './kubectl-bin.js';

const binaries = await discoverKubectls();
/** kubectl uses WebSocket for exec/attach from 1.30; this turns it back to SPDY. */
const SPDY_ENV = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };

describe('exec and attach over SPDY/3.1, and attach over WebSocket, through the gateway', { timeout: 300_000 }, () => {
  let world: ProxyWorld;
  let kubeconfig: string;

  before(async () => {
    world = await startProxyWorld();
    const alice = await memberUser(world, { username: 'alice' });
    kubeconfig = await gatewayKubeconfig(world, alice.token);
  });
  after(() => world?.stop());

  it('found kubectl binaries', () => assert.ok(binaries.length > 0));

  for (const binary of binaries) {
    it(`kubectl ${binary.label} (${binary.gitVersion}): exec -i cat, exec whoami, an exit code, attach -i`, async (t) => {
      const home = join(world.gw.dir, `spdy-home-${binary.minor}-${binary.path.replace(/\W/g, '')}`);
      await mkdir(home, { recursive: true });
      const kubectl = kubectlFor(binary, kubeconfig, home);
      world.double.clearRequests();

      const cat = await kubectl.run(['exec', '-i', 'web-0', '--', 'cat'], { input: 'over spdy\nline two\n', env: SPDY_ENV });
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, 'over spdy\nline two\n');

      const whoami = await kubectl.run(['exec', 'web-0', '--', 'whoami'], { env: SPDY_ENV });
      assert.equal(whoami.code, 0, whoami.stderr);
      assert.equal(whoami.stdout, 'alice\n');

      const failing = await kubectl.run(['exec', 'web-0', '--', 'sh', '-c', 'exit 3'], { env: SPDY_ENV });
      assert.equal(failing.code, 3, failing.stderr);

      const attach = await kubectl.run(['attach', '-i', 'web-0'], { input: 'attached\n', env: SPDY_ENV });
      assert.equal(attach.code, 0, attach.stderr);
      assert.match(attach.stdout, /attached\n$/);

      const upgrades = world.double.requests.filter((r) => r.upgrade);
      assert.equal(upgrades.length, 4);
      for (const r of upgrades) {
        assert.equal(r.upgradeProtocol?.toLowerCase(), 'spdy/3.1', r.path);
        assert.equal(r.status, 101);
        assert.equal(r.effective?.username, 'alice');
      }
      t.diagnostic(`exec and attach over SPDY/3.1 with kubectl ${binary.gitVersion}`);
    });
  }

  for (const binary of binaries.filter((b) => b.minor >= 30)) {
    it(`kubectl ${binary.label} (${binary.gitVersion}): attach -i over WebSocket (remotecommand v5)`, async () => {
      const home = join(world.gw.dir, `ws-attach-home-${binary.minor}-${binary.path.replace(/\W/g, '')}`);
      await mkdir(home, { recursive: true });
      const kubectl = kubectlFor(binary, kubeconfig, home);
      world.double.clearRequests();
      const attach = await kubectl.run(['attach', '-i', 'web-0'], { input: 'attached over websocket\n', env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'true' } });
      assert.equal(attach.code, 0, attach.stderr);
      assert.match(attach.stdout, /attached over websocket\n$/);
      const upgrades = world.double.requests.filter((r) => r.upgrade);
      assert.deepEqual(upgrades.map((r) => [r.upgradeProtocol?.toLowerCase(), r.status, r.effective?.username]), [['websocket', 101, 'alice']], 'one WebSocket upgrade, no fallback to SPDY');
    });
  }
});
