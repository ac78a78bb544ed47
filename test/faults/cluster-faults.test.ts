/** Fault suite (issue 7): the cluster down at start and mid-stream, a certificate mismatch, a gateway restart. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createCa } from '../../src/tls/certificates.js';
import { call, startTestGateway } from '../support/gateway.js';
import { gatewayKubeconfig, kubectl, kubectlUntil, memberUser, startProxyWorld, watchReceived, type ProxyWorld } from '../support/cluster.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cluster faults', () => {
  let world: ProxyWorld;
  let relay: TcpRelay;
  let token: string;
  before(async () => {
    world = await startProxyWorld({ clusterId: 'direct' });
    relay = await startTcpRelay(world.double.port);
    const ca = Buffer.from(world.double.caPem).toString('base64');
    for (const [id, server, caData] of [
      ['flaky', `https://127.0.0.1:${relay.port}`, ca],
      ['wrong-ca', world.double.url, Buffer.from((await createCa('some-other-ca')).certPem).toString('base64')],
    ] as const) {
      const r = await call(world.gw, 'POST', '/v1/clusters', { token: world.adminToken, body: { id, server, caData, credential: { token: world.double.gatewayToken } } });
      assert.equal(r.status, 201, r.text);
    }
    token = world.adminToken;
  });
  after(async () => {
    await relay.close();
    await world.stop();
  });

  it('answers 503 Status while the cluster is down, and recovers by itself when it is back', async () => {
    await relay.cut();
    const down = await call(world.gw, 'GET', '/k8s/clusters/flaky/api', { token });
    assert.equal(down.status, 503);
    assert.equal(down.body.kind, 'Status');
    assert.match(down.body.message, /cluster "flaky" is unreachable/);
    await relay.restore();
    const up = await call(world.gw, 'GET', '/k8s/clusters/flaky/api', { token });
    assert.equal(up.status, 200);
  });

  it('ends a watch cleanly when the cluster goes away mid-stream', async () => {
    let established!: () => void;
    const open = new Promise<void>((resolve) => (established = resolve));
    const ended = new Promise<string>((resolve) => {
      const r = request(new URL('/k8s/clusters/flaky/api/v1/namespaces/default/configmaps?watch=true', world.gw.url), { agent: world.gw.agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        assert.equal(res.statusCode, 200);
        established();
        res.resume();
        res.on('end', () => resolve('end'));
        res.on('close', () => resolve('close'));
        res.on('error', () => resolve('error'));
      });
      r.on('error', () => resolve('request error'));
      r.end();
    });
    // Cut only once the watch's answer has started (its headers are in).
    await open;
    await relay.cut();
    assert.ok(['end', 'close', 'error'].includes(await ended));
    await relay.restore();
    assert.equal((await call(world.gw, 'GET', '/k8s/clusters/flaky/api', { token })).status, 200, 'later requests work');
  });

  it('answers a certificate mismatch with 503 at once and says why in the log', async () => {
    const started = Date.now();
    const r = await call(world.gw, 'GET', '/k8s/clusters/wrong-ca/api', { token });
    assert.equal(r.status, 503);
    assert.match(r.body.message, /cluster "wrong-ca" is unreachable \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|DEPTH_ZERO_SELF_SIGNED_CERT)\)/);
    assert.ok(Date.now() - started < 5_000, 'no hang');
    const line = world.gw.logs.map((l) => JSON.parse(l)).find((l) => l.cluster === 'wrong-ca' && l.level >= 40);
    assert.ok(line, 'a warning names the cluster');
    assert.match(JSON.stringify(line), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|ISSUER|DEPTH_ZERO/);
  });
});

describe('gateway restart during watches', () => {
  it('ends kubectl watches cleanly on shutdown, and a new watch works after the restart', async () => {
    const world = await startProxyWorld();
    const { token } = await memberUser(world, { username: 'alice' });
    const kubeconfig = await gatewayKubeconfig(world, token);
    const port = new URL(world.gw.url).port;
    const watch = kubectlUntil(kubeconfig, ['get', 'configmaps', '-w', '-o', 'name'], /never-matches/, 20_000);
    const exited = new Promise<number | null>((resolve) => watch.child.on('exit', (code) => resolve(code)));
    watch.matched.catch(() => {});
    await watchReceived(() => world.double.requests, 'configmaps');
    await world.gw.close();
    const code = await Promise.race([exited, wait(10_000).then(() => 'hung' as const)]);
    assert.notEqual(code, 'hung', 'kubectl noticed the end of its watch');

    const again = await startTestGateway(['--listen', `127.0.0.1:${port}`], { dir: world.gw.dir });
    try {
      world.double.clearRequests();
      const w2 = kubectlUntil(kubeconfig, ['get', 'configmaps', '-w', '-o', 'name'], /configmap\/after-restart/);
      await watchReceived(() => world.double.requests, 'configmaps');
      const created = await kubectl(kubeconfig, ['create', 'configmap', 'after-restart']);
      assert.equal(created.code, 0, created.stderr);
      await w2.matched;
      w2.stop();
    } finally {
      await again.stop();
      await world.double.stop();
    }
  });
});
