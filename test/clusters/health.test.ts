/**
 * Cluster health and refusals of the gateway's own credential (issue 15, bug 3): the probe at
 * registration and on schedule, the state real traffic leaves, the 502 a user gets when the
 * cluster refuses kubegate's credential (401) or its impersonation (403), one WARN per cluster per
 * minute, and the metrics. Against the kube-apiserver double, with real kubectl.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ClusterHealth } from '../../src/clusters/health.js';
import { createLogger } from '../../src/log.js';
import { startKubeDouble, type KubeDouble } from '../kube-double/index.js';
import { gatewayKubeconfig, kubectl, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { call } from '../support/gateway.js';

const b64 = (pem: string) => Buffer.from(pem).toString('base64');

describe('ClusterHealth', () => {
  it('is Unknown until seen, keeps the probe\'s version through traffic, and WARNs a rejected credential once per cluster per minute', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(...String(c).trim().split('\n').map((l) => JSON.parse(l))), cb()) }));
    let now = 1_000_000;
    const health = new ClusterHealth({ probe: async () => ({ state: 'Active' }), clusterIds: () => [], log, clock: () => now });
    assert.deepEqual(health.status('a'), { state: 'Unknown', message: 'not checked yet', checkedAt: null, version: null });

    health.record('a', { state: 'Active', version: 'v1.32.0', message: 'the API server answers (v1.32.0) and kubegate may impersonate' });
    now += 5_000;
    health.record('a', { state: 'Active' });
    assert.deepEqual(health.status('a'), {
      state: 'Active',
      message: 'the API server answers (v1.32.0) and kubegate may impersonate',
      checkedAt: new Date(now).toISOString(),
      version: 'v1.32.0',
    });

    const warns = () => lines.filter((l) => l.level === 40 && l.cluster === 'a').length;
    for (const step of [0, 1_000, 30_000, 28_000]) {
      now += step;
      health.record('a', { state: 'CredentialRejected', message: 'refused' });
    }
    assert.equal(warns(), 1, 'one WARN in the first minute');
    now += 2_000;
    health.record('a', { state: 'CredentialRejected', message: 'refused' });
    assert.equal(warns(), 2, 'the next after a minute');
    health.record('b', { state: 'CredentialRejected', message: 'refused' });
    assert.equal(lines.filter((l) => l.level === 40 && l.cluster === 'b').length, 1, 'per cluster');
    assert.deepEqual([...health.states()], [['a', 'CredentialRejected'], ['b', 'CredentialRejected']]);
  });
});

describe('cluster health and the gateway\'s refused credential', { timeout: 120_000 }, () => {
  let world: ProxyWorld;
  let noImpersonation: KubeDouble;
  let alice: Awaited<ReturnType<typeof memberUser>>;

  const register = async (id: string, body: Record<string, unknown>) => {
    const res = await call(world.gw, 'POST', '/v1/clusters', { token: world.adminToken, body: { id, ...body } });
    assert.equal(res.status, 201, res.text);
    await call(world.gw, 'PUT', `/v1/clusters/${id}/members`, { token: world.adminToken, body: { principal: 'user:alice', role: 'member' } });
    return res.body;
  };
  const metrics = async () => (await call(world.gw, 'GET', '/metrics', { token: world.adminToken })).text;

  before(async () => {
    world = await startProxyWorld({ double: { authorize: (a) => !(a.user.username === 'alice' && a.resource === 'secrets') } });
    // A cluster whose RBAC grants the gateway's ServiceAccount nothing: it may not impersonate.
    noImpersonation = await startKubeDouble({ rbacManifests: '' });
    alice = await memberUser(world, { username: 'alice' });
  });
  after(async () => {
    await world?.stop();
    await noImpersonation?.stop();
  });

  it('POST /v1/clusters probes before answering: Active with the version when all is well', async () => {
    const registered = await register('good', { server: world.double.url, caData: b64(world.double.caPem), credential: { token: world.double.gatewayToken } });
    assert.equal(registered.status.state, 'Active');
    assert.match(registered.status.version, /^v1\.\d+\.\d+/);
    assert.match(registered.status.message, /answers .* kubegate may impersonate/);
    assert.ok(Date.parse(registered.status.checkedAt) > 0);
    // A member sees the same block, in the list and on the cluster.
    const mine = await call(world.gw, 'GET', '/v1/clusters', { token: alice.token });
    assert.equal(mine.body.items.find((c: { id: string }) => c.id === 'good').status.state, 'Active');
    assert.equal((await call(world.gw, 'GET', '/v1/clusters/good', { token: alice.token })).body.status.state, 'Active');
    assert.match(await metrics(), /^kubegate_cluster_up\{cluster="good"\} 1$/m);
  });

  it('an unreachable cluster registers (201) as Unavailable', async () => {
    const registered = await register('down', { server: 'https://127.0.0.1:1', credential: { token: 'x' } });
    assert.equal(registered.status.state, 'Unavailable');
    assert.match(registered.status.message, /cluster "down" is unreachable \(ECONNREFUSED\)/);
    assert.match(await metrics(), /^kubegate_cluster_up\{cluster="down"\} 0$/m);
  });

  it('a wrong credential: CredentialRejected, users get a 502 naming the cluster, one WARN, a metric; fixed by PATCH', async () => {
    const registered = await register('wrong', { server: world.double.url, caData: b64(world.double.caPem), credential: { token: 'not-the-gateway-token' } });
    assert.equal(registered.status.state, 'CredentialRejected');
    assert.equal(registered.status.message, "kubegate's own credential for cluster 'wrong' was refused by its API server (401 Unauthorized): it is wrong or expired");

    const before = world.double.requests.length;
    const kubeconfig = await gatewayKubeconfig({ ...world, clusterId: 'wrong' }, alice.token, 'wrong.yaml');
    const got = await kubectl(kubeconfig, ['get', 'pods']);
    assert.notEqual(got.code, 0);
    assert.doesNotMatch(got.stderr, /must be logged in/, 'the user is not blamed');
    assert.ok(world.double.requests.length > before, 'the requests did reach the cluster');

    const raw = await call(world.gw, 'GET', '/k8s/clusters/wrong/api/v1/namespaces/default/pods', { token: alice.token });
    assert.equal(raw.status, 502);
    assert.deepEqual([raw.body.kind, raw.body.reason, raw.body.code], ['Status', 'BadGateway', 502]);
    assert.equal(raw.body.message, "kubegate's own credential for cluster 'wrong' was refused by its API server (401 Unauthorized): it is wrong or expired; ask an administrator to renew it");
    const warns = world.gw.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 40 && l.cluster === 'wrong');
    assert.equal(warns.length, 1, `one WARN for the probe and every request since: ${JSON.stringify(warns)}`);
    assert.match(await metrics(), /^kubegate_upstream_credential_rejected_total\{cluster="wrong"\} [2-9]\d*$/m);
    assert.match(await metrics(), /^kubegate_cluster_up\{cluster="wrong"\} 0$/m);

    const fixed = await call(world.gw, 'PATCH', '/v1/clusters/wrong', { token: world.adminToken, body: { credential: { token: world.double.gatewayToken } } });
    assert.equal(fixed.body.status.state, 'Active');
    assert.equal((await kubectl(kubeconfig, ['get', 'pods', '-o', 'name'])).code, 0);
  });

  it('a credential that may not impersonate: CredentialRejected, users get a 502 saying so', async () => {
    const registered = await register('noimp', { server: noImpersonation.url, caData: b64(noImpersonation.caPem), credential: { token: noImpersonation.gatewayToken } });
    assert.equal(registered.status.state, 'CredentialRejected');
    assert.match(registered.status.message, /may not impersonate users .*cannot impersonate resource/);
    const raw = await call(world.gw, 'GET', '/k8s/clusters/noimp/api/v1/namespaces/default/pods', { token: alice.token });
    assert.equal(raw.status, 502);
    assert.match(raw.body.message, /^kubegate's own credential for cluster 'noimp' may not impersonate users \(users "alice" is forbidden: User "system:serviceaccount:kubegate:kubegate-impersonator" cannot impersonate resource "users".*\); ask an administrator to apply the role that 'kubegate render impersonator' prints$/);
  });

  it('the user\'s own RBAC refusals still come back as the cluster wrote them, and the cluster stays Active', async () => {
    const refused = await call(world.gw, 'GET', '/k8s/clusters/good/api/v1/namespaces/default/secrets', { token: alice.token });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.reason, 'Forbidden');
    assert.match(refused.body.message, /^secrets is forbidden: User "alice" cannot list resource "secrets"/);
    assert.equal((await call(world.gw, 'GET', '/v1/clusters/good', { token: alice.token })).body.status.state, 'Active');
  });

  it('real traffic moves the state: a cluster that went down is Unavailable after a request meets it', async () => {
    await noImpersonation.stop();
    const raw = await call(world.gw, 'GET', '/k8s/clusters/noimp/api/v1/namespaces/default/pods', { token: alice.token });
    assert.equal(raw.status, 503);
    const status = (await call(world.gw, 'GET', '/v1/clusters/noimp', { token: alice.token })).body.status;
    assert.equal(status.state, 'Unavailable');
    assert.match(status.message, /unreachable/);
  });
});
