/**
 * Role changes on two gateway replicas sharing PostgreSQL (docs/reference/identity.md): a viewer
 * promoted to member through replica A can delete through replica B within 1 s, with the same
 * kubeconfig, although B had the viewer's verdict cached. The cluster's RBAC is what
 * `kubegate render rbac` prints, loaded into the kube-apiserver double.
 */
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderRbac, DEFAULT_BUILT_IN_CLUSTER_ROLES } from '../../src/render/rbac.js';
import { gatewayKubeconfig, kubectl, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { call, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { listPods, pollUntil } from './support.js';

/** docs/reference/identity.md: every replica within 1 s. */
const WITHIN_MS = 1_000;

describe('role changes across two replicas', () => {
  let pg: TestPostgres;
  let world: ProxyWorld;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    pg = await startTestPostgres();
    const url = await pg.createDatabase();
    world = await startProxyWorld({ flags: ['--database-url', url], double: { authorizationMode: 'RBAC' } });
    world.double.applyRbac(renderRbac(DEFAULT_BUILT_IN_CLUSTER_ROLES));
    a = world.gw;
    // Replicas share the encryption key file, as they must (docs/reference/configuration.md).
    b = await startTestGateway(['--database-url', url, '--encryption-key-file', join(world.gw.dir, 'data', 'encryption.key')]);
  });
  after(async () => {
    await b?.stop();
    await world?.stop();
    await pg?.destroy();
  });

  const canDeletePods = (token: string) =>
    call(b, 'POST', `/k8s/clusters/${world.clusterId}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
      token,
      body: { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', spec: { resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'default' } } },
    });

  it('a viewer promoted to member through A deletes through B within 1 s, same kubeconfig', async () => {
    const vic = await memberUser(world, { username: 'vic' });
    const viewer = await call(a, 'PUT', `/v1/clusters/${world.clusterId}/members`, { token: world.adminToken, body: { principal: 'user:vic', role: 'viewer' } });
    assert.equal(viewer.status, 200, viewer.text);

    const kubeconfig = await gatewayKubeconfig({ ...world, gw: b }, vic.token, 'vic.yaml');
    const listed = await kubectl(kubeconfig, ['get', 'pods', '-A']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /default\s+web-0/);
    const refused = await kubectl(kubeconfig, ['delete', 'pod', 'web-0']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /pods "web-0" is forbidden: User "vic" cannot delete resource "pods"/);
    // B holds vic's verdict (as a viewer) in its cache now.
    const hits = b.cache.stats.hits;
    assert.equal((await listPods(b, world.clusterId, vic.token)).status, 200);
    assert.ok(b.cache.stats.hits > hits, 'B answered from its verdict cache');

    const promoted = await call(a, 'PUT', `/v1/clusters/${world.clusterId}/members`, { token: world.adminToken, body: { principal: 'user:vic', role: 'member' } });
    assert.equal(promoted.status, 200, promoted.text);
    const polled = await pollUntil(() => canDeletePods(vic.token), (r) => r.body?.status?.allowed === true, { timeoutMs: WITHIN_MS, everyMs: 50 });
    assert.ok(polled.ok, `B still acted as a viewer ${polled.elapsedMs} ms after the promotion on A: ${polled.value.text}`);
    const deleted = await kubectl(kubeconfig, ['delete', 'pod', 'web-0']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(world.double.requests.at(-1)?.effective?.groups.includes('kubegate:role:member'), true);
  });
});
