/**
 * `kubegate cluster add` (issue 20), the built command against a gateway and the kube-apiserver
 * double started with no impersonator RBAC: the double must accept the applied manifests and the
 * TokenRequest, and real kubectl through the gateway then works only because what cluster add
 * applied lets the registered token impersonate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeDouble, writeKubeconfig, type KubeDouble } from '../kube-double/index.js';
import { kubectl } from '../support/cluster.js';
import { ADMIN_PASSWORD, call, createUser, login, reachablePublicUrlFlags, startTestGateway, type TestGateway } from '../support/gateway.js';

const BIN = new URL('../../bin/kubegate', import.meta.url).pathname;
const SA_USER = 'system:serviceaccount:kubegate:kubegate-impersonator';

function kubegate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('kubegate cluster add', { timeout: 240_000 }, () => {
  let dir: string;
  let gw: TestGateway;
  let admin: string;
  let adminTokenFile: string;
  let gatewayCa: string;
  const doubles: KubeDouble[] = [];

  /** A double with no impersonator RBAC, and a kubeconfig whose user is in system:masters. */
  const cluster = async (name: string, options: { tokenController?: boolean } = {}) => {
    const double = await startKubeDouble({
      rbacManifests: '',
      tokenController: options.tokenController,
      staticTokens: { [`${name}-admin-token`]: { username: `${name}-admin`, groups: ['system:masters'] } },
    });
    doubles.push(double);
    const kubeconfig = join(dir, `${name}.kubeconfig`);
    await writeKubeconfig(kubeconfig, { server: double.url, caPem: double.caPem, token: `${name}-admin-token`, name: `kind-${name}` });
    return { double, kubeconfig };
  };
  const add = (kubeconfig: string, extra: string[] = []) =>
    kubegate(['cluster', 'add', '--kubeconfig', kubeconfig, '--gateway', gw.url, '--gateway-ca-file', gatewayCa, '--admin-token-file', adminTokenFile, ...extra]);

  /** kubectl as a member, through the gateway: who the cluster says they are. */
  const whoamiThroughGateway = async (id: string, username: string): Promise<{ code: number | null; user?: string; stderr: string }> => {
    const session = await login(gw, username, `${username}-password`);
    const res = await call(gw, 'POST', `/v1/clusters/${id}/kubeconfig`, { token: session });
    assert.equal(res.status, 200, res.text);
    const file = join(dir, `${username}-${id}.yaml`);
    await writeFile(file, res.text, { mode: 0o600 });
    const r = await kubectl(file, ['auth', 'whoami', '-o', 'json']);
    return { code: r.code, user: r.code === 0 ? JSON.parse(r.stdout).status.userInfo.username : undefined, stderr: r.stderr };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-cluster-add-'));
    gw = await startTestGateway(await reachablePublicUrlFlags());
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    adminTokenFile = join(dir, 'admin.token');
    await writeFile(adminTokenFile, `${admin}\n`, { mode: 0o600 });
    gatewayCa = join(dir, 'gateway-ca.crt');
    await writeFile(gatewayCa, gw.caPem!);
    await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
  });

  after(async () => {
    for (const d of doubles) await d.stop();
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies the impersonator manifests, takes the token from its Secret, registers the server and CA of the kubeconfig, and kubectl works through the gateway', async () => {
    const { double, kubeconfig } = await cluster('one');
    const r = await add(kubeconfig);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /1\/4 context kind-one: https:\/\/127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /impersonator token from Secret kubegate\/kubegate-impersonator-token/);
    assert.match(r.stdout, /registered cluster kind-one/);
    assert.match(r.stdout, /POST .*\/v1\/clusters\/kind-one\/kubeconfig/);
    assert.match(r.stdout, /\nCluster kind-one: Active \(the API server answers \(v1\.\d+\.\d+\) and kubegate may impersonate\)\n/, 'the probe at registration found the applied role working');

    // What the double holds is what render impersonator prints, applied by the kubeconfig's user.
    assert.ok(double.store.has({ group: '', resource: 'serviceaccounts' }, 'kubegate', 'kubegate-impersonator'));
    assert.ok(double.store.has({ group: 'rbac.authorization.k8s.io', resource: 'clusterroles' }, '', 'kubegate-impersonator'));
    assert.ok(double.store.has({ group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' }, '', 'kubegate-impersonator'));
    const applies = double.requests.filter((q) => q.method === 'POST' || q.method === 'PATCH');
    assert.ok(applies.length >= 5);
    assert.ok(applies.every((q) => q.authenticatedAs?.username === 'one-admin'), 'applied with the kubeconfig\'s credentials');

    const registered = await call(gw, 'GET', '/v1/clusters/kind-one', { token: admin });
    assert.equal(registered.status, 200);
    assert.equal(registered.body.server, double.url);
    assert.equal(registered.body.caData, Buffer.from(double.caPem).toString('base64'));
    assert.equal(registered.body.credentialType, 'token');

    await call(gw, 'PUT', '/v1/clusters/kind-one/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });
    double.clearRequests();
    const who = await whoamiThroughGateway('kind-one', 'alice');
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.user, 'alice');
    const review = double.requests.find((q) => q.path.includes('selfsubjectreviews'));
    assert.equal(review?.authenticatedAs?.username, SA_USER, 'the gateway came in with the impersonator token');
    assert.equal(review?.effective?.username, 'alice');
  });

  it('run again, it updates the same cluster (never a second one), and kubectl still works', async () => {
    const kubeconfig = join(dir, 'one.kubeconfig');
    const r = await add(kubeconfig);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /cluster kind-one existed: updated its server, CA and credential/);
    const list = await call(gw, 'GET', '/v1/clusters', { token: admin });
    assert.equal(list.body.items.filter((c: { id: string }) => c.id === 'kind-one').length, 1);
    assert.equal((await whoamiThroughGateway('kind-one', 'alice')).user, 'alice');
  });

  it('without a token controller it falls back to a TokenRequest, which the double issues and accepts', async () => {
    const { double, kubeconfig } = await cluster('two', { tokenController: false });
    const r = await add(kubeconfig, ['--id', 'two', '--name', 'second']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /impersonator token from a TokenRequest \(the Secret stayed empty\), valid until about \d{4}-\d{2}-\d{2}/);
    const tokenRequest = double.requests.find((q) => q.method === 'POST' && q.path.startsWith('/api/v1/namespaces/kubegate/serviceaccounts/kubegate-impersonator/token'));
    assert.ok(tokenRequest, 'kubectl create token reached the TokenRequest API');
    assert.equal(tokenRequest.headersDistinct['content-type']?.[0], 'application/vnd.kubernetes.protobuf', 'as kubectl sends it');
    const got = await call(gw, 'GET', '/v1/clusters/two', { token: admin });
    assert.equal(got.body.name, 'second');
    await call(gw, 'PUT', '/v1/clusters/two/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });
    double.clearRequests();
    const who = await whoamiThroughGateway('two', 'alice');
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.user, 'alice');
    assert.equal(double.requests.find((q) => q.path.includes('selfsubjectreviews'))?.authenticatedAs?.username, SA_USER);
  });

  it('--server replaces the kubeconfig\'s URL for the gateway (the cluster as the gateway reaches it)', async () => {
    const { double, kubeconfig } = await cluster('via');
    const server = `https://localhost:${double.port}`;
    const r = await add(kubeconfig, ['--id', 'via', '--server', server]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal((await call(gw, 'GET', '/v1/clusters/via', { token: admin })).body.server, server);
    assert.match(r.stdout, /\nCluster via: Active /);
  });

  it('the double reads kubectl create token\'s protobuf TokenRequest: duration and audience arrive, and the token authenticates', async () => {
    const { kubeconfig } = await cluster('tr', { tokenController: false });
    const sa = await kubectl(kubeconfig, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: 'default' } }) });
    assert.equal(sa.code, 0, sa.stderr);
    const before = Date.now();
    const r = await kubectl(kubeconfig, ['create', 'token', 'reader', '--duration=7200s', '--audience=aud-1', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout);
    assert.deepEqual(answer.spec.audiences, ['aud-1']);
    assert.equal(answer.spec.expirationSeconds, 7200);
    const expires = Date.parse(answer.status.expirationTimestamp);
    assert.ok(expires >= before + 7_199_000 && expires <= Date.now() + 7_200_000);
    const asSa = join(dir, 'reader.kubeconfig');
    const double = doubles.at(-1)!;
    await writeKubeconfig(asSa, { server: double.url, caPem: double.caPem, token: answer.status.token, name: 'reader' });
    const who = await kubectl(asSa, ['auth', 'whoami', '-o', 'json']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).status.userInfo.username, 'system:serviceaccount:default:reader');
    assert.equal((await kubectl(kubeconfig, ['delete', 'serviceaccount', 'reader'])).code, 0);
    assert.notEqual((await kubectl(asSa, ['auth', 'whoami'])).code, 0, 'a deleted ServiceAccount\'s token stops working');
  });

  it('--agent registers an agent cluster and applies its import manifests; run again, it rotates the agent token', async () => {
    const { double, kubeconfig } = await cluster('edge');
    const r = await add(kubeconfig, ['--agent', '--id', 'edge']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /registered agent cluster edge/);
    assert.match(r.stdout, /applied the agent manifests/);
    const got = await call(gw, 'GET', '/v1/clusters/edge', { token: admin });
    assert.equal(got.body.connection, 'agent');
    assert.deepEqual([got.body.status.state, got.body.status.agent.connected], ['Unavailable', false], 'nothing runs in the double, so no agent connects');
    assert.ok(double.store.list({ group: 'apps', resource: 'deployments' }, 'kubegate-agent').length === 1);
    const secret = double.store.list({ group: '', resource: 'secrets' }, 'kubegate-agent')[0]!;
    const firstToken = JSON.stringify(secret.data ?? secret.stringData);

    const again = await add(kubeconfig, ['--agent', '--id', 'edge']);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.match(again.stdout, /cluster edge exists: rotated its agent token/);
    const rotated = double.store.list({ group: '', resource: 'secrets' }, 'kubegate-agent')[0]!;
    assert.notEqual(JSON.stringify(rotated.data ?? rotated.stringData), firstToken, 'the applied Secret carries the new agent token');
  });

  it('each failure names its step and what to do', async () => {
    const { kubeconfig } = await cluster('three');
    const badContext = await add(kubeconfig, ['--context', 'nope']);
    assert.equal(badContext.code, 1);
    assert.match(badContext.stderr, /^kubegate cluster add: step "read the cluster from the kubeconfig" failed: .*nope.*; check --kubeconfig and --context/);

    const bad = join(dir, 'bad.kubeconfig');
    const double = doubles.at(-1)!;
    await writeKubeconfig(bad, { server: double.url, caPem: double.caPem, token: 'wrong', name: 'bad' });
    const unauthorized = await add(bad);
    assert.equal(unauthorized.code, 1);
    assert.match(unauthorized.stderr, /^kubegate cluster add: step "apply the impersonator manifests" failed: .*provide credentials.*; the cluster refused the kubeconfig's credentials/);

    const noCa = await kubegate(['cluster', 'add', '--kubeconfig', kubeconfig, '--gateway', gw.url, '--admin-token-file', adminTokenFile]);
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /^kubegate cluster add: step "log in at the gateway" failed: .*; pass the gateway's CA with --gateway-ca-file/);

    const wrongPassword = await kubegate(['cluster', 'add', '--kubeconfig', kubeconfig, '--gateway', gw.url, '--gateway-ca-file', gatewayCa], { KUBEGATE_PASSWORD: 'not-it-at-all' });
    assert.equal(wrongPassword.code, 1);
    assert.match(wrongPassword.stderr, /^kubegate cluster add: step "log in at the gateway" failed: .*; pass --admin-token-file/);

    const nonAdmin = join(dir, 'alice.token');
    await writeFile(nonAdmin, await login(gw, 'alice', 'alice-password'));
    const notAdmin = await kubegate(['cluster', 'add', '--kubeconfig', kubeconfig, '--gateway', gw.url, '--gateway-ca-file', gatewayCa, '--admin-token-file', nonAdmin]);
    assert.equal(notAdmin.code, 1);
    assert.match(notAdmin.stderr, /alice is not an administrator/);

    const asAgent = await add(join(dir, 'one.kubeconfig'), ['--agent']);
    assert.equal(asAgent.code, 1);
    assert.match(asAgent.stderr, /step "register the cluster at the gateway" failed: cluster kind-one exists as a direct cluster; pass another --id/);

    const badId = await add(kubeconfig, ['--id', 'Not_An_Id']);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /^kubegate cluster add: --id: "Not_An_Id" is not a DNS-1123 label/);
  });
});
