/**
 * Issue 15: `kubectl port-forward` end to end through the gateway over SPDY/3.1
 * (`portforward.k8s.io`) with every kubectl here (KUBECTL_PORT_FORWARD_WEBSOCKETS=false keeps
 * SPDY on 1.31+), and over WebSocket (`SPDY/3.1+portforward.k8s.io`, the default from 1.31,
 * behind KUBECTL_PORT_FORWARD_WEBSOCKETS=true on 1.30). Every port of a pod in the double is an
 * echo server: bytes sent to the local port come back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gatewayKubeconfig, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { runUntil } from '../support/run-process.js';
import { discoverKubectls } from './kubectl-bin.js';

const binaries = await discoverKubectls();

/** Sends `text` to the local port and resolves with what comes back once the server ends the stream. */
function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (got += c));
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
  });
}

describe('kubectl port-forward through the gateway (SPDY/3.1 and WebSocket)', { timeout: 300_000 }, () => {
  let world: ProxyWorld;
  let kubeconfig: string;

  before(async () => {
    world = await startProxyWorld();
    const alice = await memberUser(world, { username: 'alice' });
    kubeconfig = await gatewayKubeconfig(world, alice.token);
  });
  after(() => world?.stop());

  it('found kubectl binaries', () => assert.ok(binaries.length > 0));

  const transports = [
    { name: 'SPDY/3.1', since: 0, env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, upgrade: 'spdy/3.1' },
    { name: 'WebSocket', since: 30, env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'true' }, upgrade: 'websocket' },
  ];
  for (const binary of binaries) {
    for (const transport of transports.filter((t) => binary.minor >= t.since)) {
      it(`kubectl ${binary.label} (${binary.gitVersion}) port-forward over ${transport.name}: two connections echo through the pod's port`, async () => {
        const home = join(world.gw.dir, `pf-home-${binary.minor}-${transport.upgrade.replace(/\W/g, '')}-${binary.path.replace(/\W/g, '')}`);
        await mkdir(home, { recursive: true });
        world.double.clearRequests();
        const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...transport.env };
        const forward = runUntil(binary.path, ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'cache'), 'port-forward', 'pod/web-0', ':8080'], env, /Forwarding from 127\.0\.0\.1:\d+ -> 8080/, 20_000);
        try {
          const port = Number(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(await forward.matched)![1]);
          assert.equal(await echoThrough(port, `first through ${binary.label}\n`), `first through ${binary.label}\n`);
          assert.equal(await echoThrough(port, 'second connection\n'), 'second connection\n');
        } finally {
          forward.stop();
        }
        const upgrades = world.double.requests.filter((r) => r.upgrade && r.path.includes('/portforward'));
        assert.equal(upgrades.length, 1, `one ${transport.name} connection carried both: ${JSON.stringify(upgrades.map((u) => [u.upgradeProtocol, u.status]))}`);
        assert.deepEqual([upgrades[0]!.upgradeProtocol?.toLowerCase(), upgrades[0]!.status, upgrades[0]!.effective?.username], [transport.upgrade, 101, 'alice']);
      });
    }
  }
});
