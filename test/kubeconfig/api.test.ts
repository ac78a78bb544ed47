/** `POST /v1/clusters/{id}/kubeconfig` and `GET /v1/kubeconfig` against an in-process gateway (docs/reference/kubeconfig.md). */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { createCa, signLeaf } from '../../src/tls/certificates.js';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { kubectlJson, testCa } from './support.js';

const b64 = (pem: string) => Buffer.from(pem).toString('base64');
const MINUTE = 60_000;

let gw: TestGateway;
let admin: string;
let alice: string; // member of prod and dev
let bob: string; // member of nothing
let carol: string; // member of dev through a group
let endpointCa: string;

async function registerCluster(body: Record<string, unknown>): Promise<void> {
  const res = await call(gw, 'POST', '/v1/clusters', { token: admin, body: { server: 'https://10.0.0.1:6443', credential: { token: 'upstream' }, ...body } });
  assert.equal(res.status, 201, res.text);
}

async function addMember(clusterId: string, principal: string): Promise<void> {
  const res = await call(gw, 'PUT', `/v1/clusters/${clusterId}/members`, { token: admin, body: { principal, role: 'member' } });
  assert.equal(res.status, 200, res.text);
}

async function setSetting(name: string, value: unknown): Promise<void> {
  const res = await call(gw, 'PUT', `/v1/settings/${name}`, { token: admin, body: { value } });
  assert.equal(res.status, 200, res.text);
}

async function download(token: string, clusterId: string) {
  const res = await call(gw, 'POST', `/v1/clusters/${clusterId}/kubeconfig`, { token });
  return { ...res, config: res.status === 200 ? parse(res.text) : undefined };
}

function userToken(config: any, name: string): string {
  return config.users.find((u: { name: string }) => u.name === name).user.token;
}

before(async () => {
  gw = await startTestGateway(['--public-url', 'https://kubegate.example.com:8443']);
  admin = await login(gw, 'admin', ADMIN_PASSWORD);
  endpointCa = await testCa('endpoint-ca');
  await registerCluster({
    id: 'prod-1',
    name: 'prod',
    caData: b64(await testCa('cluster-ca')),
    authorizedEndpoint: { enabled: true, caData: b64(endpointCa), controlPlaneNodes: [{ name: 'cp-1', address: '10.0.0.5' }, { name: 'cp-2', address: '10.0.0.6:7443' }] },
  });
  await registerCluster({ id: 'dev', authorizedEndpoint: { enabled: true, fqdn: 'dev.example.com', caData: b64(endpointCa) } });
  await registerCluster({ id: 'secret' });
  await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
  await createUser(gw, admin, { username: 'bob', password: 'bob-password' });
  await createUser(gw, admin, { username: 'carol', password: 'carol-password', groups: ['devs'] });
  await addMember('prod-1', 'user:alice');
  await addMember('dev', 'user:alice');
  await addMember('dev', 'group:devs');
  alice = await login(gw, 'alice', 'alice-password');
  bob = await login(gw, 'bob', 'bob-password');
  carol = await login(gw, 'carol', 'carol-password');
});

after(async () => {
  await gw.stop();
});

describe('POST /v1/clusters/{id}/kubeconfig', () => {
  it('gives a member a YAML attachment named after the cluster', async () => {
    const res = await download(alice, 'prod-1');
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers['content-type']), /^application\/yaml(;|$)/);
    assert.equal(res.headers['content-disposition'], 'attachment; filename="prod.yaml"');
    assert.equal(res.headers['cache-control'], 'no-store');
    const config = res.config;
    assert.equal(config['current-context'], 'prod');
    assert.deepEqual(config.clusters[0], {
      name: 'prod',
      cluster: { server: 'https://kubegate.example.com:8443/k8s/clusters/prod-1', 'certificate-authority-data': b64(gw.caPem!) },
    });
    assert.deepEqual(config.clusters.slice(1), [
      { name: 'prod-cp-1', cluster: { server: 'https://10.0.0.5:6443', 'certificate-authority-data': b64(endpointCa) } },
      { name: 'prod-cp-2', cluster: { server: 'https://10.0.0.6:7443', 'certificate-authority-data': b64(endpointCa) } },
    ]);
    assert.deepEqual(config.contexts.map((c: any) => [c.name, c.context.user]), [['prod', 'prod'], ['prod-cp-1', 'prod'], ['prod-cp-2', 'prod']]);
    assert.equal(config.users.length, 1);
  });

  it('mints a new cluster-scoped token of kind kubeconfig with the default TTL', async () => {
    const started = Date.now();
    const { config } = await download(alice, 'prod-1');
    const token = userToken(config, 'prod');
    const me = await call(gw, 'GET', '/v1/me', { token });
    assert.equal(me.status, 200);
    assert.equal(me.body.username, 'alice');
    assert.equal(me.body.clusterId, 'prod-1');
    // Scoped: refused on the rest of the management API.
    assert.equal((await call(gw, 'GET', '/v1/clusters', { token })).status, 403);
    const listed = (await call(gw, 'GET', '/v1/tokens', { token: alice })).body.items.find((t: any) => t.tokenId === me.body.tokenId);
    assert.equal(listed.kind, 'kubeconfig');
    assert.equal(listed.clusterId, 'prod-1');
    assert.match(listed.description, /^kubeconfig for prod downloaded \d{4}-\d\d-\d\dT/);
    const ttl = Date.parse(listed.expiresAt) - started;
    assert.ok(Math.abs(ttl - 43_200 * MINUTE) < MINUTE, `ttl ${ttl}`);
  });

  it('keeps one download token per cluster per user: downloading again revokes the earlier one', async () => {
    const first = userToken((await download(alice, 'prod-1')).config, 'prod');
    const other = userToken((await download(alice, 'dev')).config, 'dev');
    const second = userToken((await download(alice, 'prod-1')).config, 'prod');
    assert.equal((await call(gw, 'GET', '/v1/me', { token: first })).status, 401, 'the earlier download no longer works');
    assert.equal((await call(gw, 'GET', '/v1/me', { token: second })).status, 200);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: other })).status, 200, "another cluster's download is kept");
    const mine = (await call(gw, 'GET', '/v1/tokens', { token: alice })).body.items.filter((t: any) => t.kind === 'kubeconfig');
    assert.deepEqual(mine.map((t: any) => t.clusterId).sort(), ['dev', 'prod-1']);
    // Download all replaces each cluster's token once.
    const merged = await call(gw, 'GET', '/v1/kubeconfig', { token: alice });
    assert.equal(merged.status, 200);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: second })).status, 401);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: other })).status, 401);
    const after = (await call(gw, 'GET', '/v1/tokens', { token: alice })).body.items.filter((t: any) => t.kind === 'kubeconfig');
    assert.deepEqual(after.map((t: any) => t.clusterId).sort(), ['dev', 'prod-1']);
    // Another user's download for the same cluster is theirs to keep.
    const carols = userToken((await download(carol, 'dev')).config, 'dev');
    await download(alice, 'dev');
    assert.equal((await call(gw, 'GET', '/v1/me', { token: carols })).status, 200);
  });

  it("selects the direct context when the cluster's kubeconfigDefaultContext says so; the FQDN may have its own CA", async () => {
    const fqdnCa = await testCa('fqdn-balancer-ca');
    await registerCluster({
      id: 'edge-direct',
      authorizedEndpoint: { enabled: true, fqdn: 'edge.example.com:443', caData: b64(endpointCa), fqdnCaData: b64(fqdnCa), kubeconfigDefaultContext: 'direct' },
    });
    await createUser(gw, admin, { username: 'erin', password: 'erin-password' });
    await addMember('edge-direct', 'user:erin');
    const erin = await login(gw, 'erin', 'erin-password');
    const { config } = await download(erin, 'edge-direct');
    assert.equal(config['current-context'], 'edge-direct-fqdn');
    assert.deepEqual(config.clusters[1], { name: 'edge-direct-fqdn', cluster: { server: 'https://edge.example.com:443', 'certificate-authority-data': b64(fqdnCa) } });
    const nodes = await call(gw, 'PATCH', '/v1/clusters/edge-direct', {
      token: admin,
      body: { authorizedEndpoint: { enabled: true, controlPlaneNodes: [{ name: 'cp-1', address: '10.0.0.9' }], kubeconfigDefaultContext: 'direct' } },
    });
    assert.equal(nodes.status, 200, nodes.text);
    assert.equal(nodes.body.authorizedEndpoint.kubeconfigDefaultContext, 'direct');
    assert.equal((await download(erin, 'edge-direct')).config['current-context'], 'edge-direct-cp-1');
    const off = await call(gw, 'PATCH', '/v1/clusters/edge-direct', { token: admin, body: { authorizedEndpoint: { enabled: false, kubeconfigDefaultContext: 'direct' } } });
    assert.equal(off.status, 200, off.text);
    assert.equal((await download(erin, 'edge-direct')).config['current-context'], 'edge-direct', 'no direct context to select');
    const bad = await call(gw, 'PATCH', '/v1/clusters/edge-direct', { token: admin, body: { authorizedEndpoint: { enabled: true, kubeconfigDefaultContext: 'nearest' } } });
    assert.equal(bad.status, 400);
    assert.equal((await call(gw, 'DELETE', '/v1/clusters/edge-direct', { token: admin })).status, 204);
  });

  it('lets an admin who is not a member download', async () => {
    const res = await download(admin, 'secret');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['content-disposition'], 'attachment; filename="secret.yaml"');
    assert.equal(res.config.clusters.length, 1);
  });

  it('lets a member through a group download', async () => {
    const res = await download(carol, 'dev');
    assert.equal(res.status, 200, res.text);
    // An FQDN without a port gets kube-apiserver's 6443.
    assert.deepEqual(res.config.clusters[1], { name: 'dev-fqdn', cluster: { server: 'https://dev.example.com:6443', 'certificate-authority-data': b64(endpointCa) } });
  });

  it('refuses non-members and unknown clusters with the same 403', async () => {
    const forbidden = await download(bob, 'prod-1');
    const unknown = await download(bob, 'no-such-cluster');
    assert.equal(forbidden.status, 403);
    assert.equal(unknown.status, 403);
    assert.equal(forbidden.body.error.reason, 'Forbidden');
    assert.equal(forbidden.body.error.message.replace('prod-1', 'X'), unknown.body.error.message.replace('no-such-cluster', 'X'));
    // And no token was made for bob.
    const tokens = (await call(gw, 'GET', '/v1/tokens', { token: bob })).body.items;
    assert.deepEqual(tokens.map((t: any) => t.kind), ['session']);
  });

  it('needs an unscoped token', async () => {
    assert.equal((await call(gw, 'POST', '/v1/clusters/prod-1/kubeconfig')).status, 401);
    const scoped = await login(gw, 'alice', 'alice-password', { clusterId: 'prod-1' });
    assert.equal((await download(scoped, 'prod-1')).status, 403);
  });

  it('audits the download without the token', async () => {
    const { config } = await download(alice, 'dev');
    const token = userToken(config, 'dev');
    const line = gw.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'kubeconfig downloaded' && l.cluster === 'dev' && l.user === 'alice');
    assert.ok(line, 'audit line');
    assert.equal(line.mode, 'token');
    assert.match(line.tokenId, /^t-/);
    assert.ok(!gw.logs.some((l) => l.includes(token.split('.')[1]!)), 'secret in logs');
  });

  it('takes the TTL from kubeconfig-default-token-ttl-minutes, capped by auth-token-max-ttl-minutes', async () => {
    try {
      await setSetting('kubeconfig-default-token-ttl-minutes', 90);
      let started = Date.now();
      let me = await call(gw, 'GET', '/v1/me', { token: userToken((await download(alice, 'prod-1')).config, 'prod') });
      let listed = (await call(gw, 'GET', '/v1/tokens', { token: alice })).body.items.find((t: any) => t.tokenId === me.body.tokenId);
      assert.ok(Math.abs(Date.parse(listed.expiresAt) - started - 90 * MINUTE) < MINUTE);

      await setSetting('auth-token-max-ttl-minutes', 30);
      started = Date.now();
      me = await call(gw, 'GET', '/v1/me', { token: userToken((await download(alice, 'prod-1')).config, 'prod') });
      listed = (await call(gw, 'GET', '/v1/tokens', { token: alice })).body.items.find((t: any) => t.tokenId === me.body.tokenId);
      assert.ok(Math.abs(Date.parse(listed.expiresAt) - started - 30 * MINUTE) < MINUTE);
    } finally {
      await setSetting('kubeconfig-default-token-ttl-minutes', 43_200);
      await setSetting('auth-token-max-ttl-minutes', 129_600);
    }
  });

  it('writes an exec entry and makes no token when kubeconfig-generate-token is false', async () => {
    const before = (await call(gw, 'GET', '/v1/tokens', { token: alice })).body.items.length;
    await setSetting('kubeconfig-generate-token', false);
    try {
      const res = await download(alice, 'prod-1');
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.config.users[0].user.exec, {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: 'kubegate',
        args: ['token', '--server=https://kubegate.example.com:8443', '--cluster=prod-1'],
        env: [{ name: 'KUBEGATE_GATEWAY_CA_DATA', value: b64(gw.caPem!) }],
        interactiveMode: 'IfAvailable',
        provideClusterInfo: false,
        installHint: res.config.users[0].user.exec.installHint,
      });
      assert.equal((await call(gw, 'GET', '/v1/tokens', { token: alice })).body.items.length, before);
      assert.ok(gw.logs.some((l) => l.includes('"msg":"kubeconfig downloaded"') && l.includes('"mode":"exec"')));
      const view = await kubectlJson(res.text, ['config', 'view', '--raw', '-o', 'json']);
      assert.equal(view.users[0].user.exec.command, 'kubegate');
    } finally {
      await setSetting('kubeconfig-generate-token', true);
    }
  });

  it('loads in kubectl as downloaded', async () => {
    const res = await download(alice, 'prod-1');
    const view = await kubectlJson(res.text, ['config', 'view', '--raw', '-o', 'json']);
    assert.equal(view['current-context'], 'prod');
    assert.deepEqual(view.contexts.map((c: any) => c.name).sort(), ['prod', 'prod-cp-1', 'prod-cp-2']);
  });
});

describe('GET /v1/kubeconfig', () => {
  it('merges every reachable cluster, each with its own scoped token', async () => {
    const res = await call(gw, 'GET', '/v1/kubeconfig', { token: alice });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['content-disposition'], 'attachment; filename="kubegate.yaml"');
    const config = parse(res.text);
    assert.deepEqual(config.contexts.map((c: any) => [c.name, c.context.user]), [
      ['dev', 'dev'],
      ['dev-fqdn', 'dev'],
      ['prod', 'prod'],
      ['prod-cp-1', 'prod'],
      ['prod-cp-2', 'prod'],
    ]);
    assert.equal(config['current-context'], 'dev');
    for (const [user, cluster] of [['dev', 'dev'], ['prod', 'prod-1']]) {
      const me = await call(gw, 'GET', '/v1/me', { token: userToken(config, user!) });
      assert.equal(me.body.clusterId, cluster);
    }
    const view = await kubectlJson(res.text, ['config', 'view', '--raw', '-o', 'json']);
    assert.equal(view.users.length, 2);
  });

  it('gives an admin every cluster', async () => {
    const config = parse((await call(gw, 'GET', '/v1/kubeconfig', { token: admin })).text);
    assert.deepEqual(config.users.map((u: any) => u.name), ['dev', 'prod', 'secret']);
  });

  it('uses exec entries when tokens are off', async () => {
    await setSetting('kubeconfig-generate-token', false);
    try {
      const config = parse((await call(gw, 'GET', '/v1/kubeconfig', { token: alice })).text);
      assert.deepEqual(config.users.map((u: any) => u.user.exec.args[2]), ['--cluster=dev', '--cluster=prod-1']);
    } finally {
      await setSetting('kubeconfig-generate-token', true);
    }
  });

  it('answers 404 to a user who can reach no cluster', async () => {
    const res = await call(gw, 'GET', '/v1/kubeconfig', { token: bob });
    assert.equal(res.status, 404);
    assert.match(res.body.error.message, /cannot reach any cluster/);
  });
});

describe('a gateway with its own certificate (--tls-cert)', () => {
  it('writes no gateway CA into the main entry nor the exec env', async () => {
    const ca = await createCa('operator-ca');
    const leaf = await signLeaf(ca, { commonName: 'gw', hosts: ['127.0.0.1'], usage: 'server' });
    const dir = await mkdtemp(join(tmpdir(), 'kubegate-owncert-'));
    await writeFile(join(dir, 'tls.crt'), leaf.certPem);
    await writeFile(join(dir, 'tls.key'), leaf.keyPem);
    const own = await startTestGateway(['--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--public-url', 'https://kubegate.example.com'], { dir });
    const client = { url: own.url, agent: new Agent({ ca: ca.certPem }) };
    try {
      assert.equal(own.caPem, undefined);
      const token = await login(client, 'admin', ADMIN_PASSWORD);
      assert.equal((await call(client, 'POST', '/v1/clusters', { token, body: { id: 'c1', server: 'https://10.0.0.1:6443', credential: { token: 'x' } } })).status, 201);
      const tokenMode = parse((await call(client, 'POST', '/v1/clusters/c1/kubeconfig', { token })).text);
      assert.deepEqual(tokenMode.clusters[0].cluster, { server: 'https://kubegate.example.com/k8s/clusters/c1' });
      assert.equal((await call(client, 'PUT', '/v1/settings/kubeconfig-generate-token', { token, body: { value: false } })).status, 200);
      const execMode = parse((await call(client, 'POST', '/v1/clusters/c1/kubeconfig', { token })).text);
      assert.equal(execMode.users[0].user.exec.env, undefined);
      assert.deepEqual(execMode.users[0].user.exec.args, ['token', '--server=https://kubegate.example.com', '--cluster=c1']);
    } finally {
      client.agent.destroy();
      await own.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
