/**
 * `kubegate agent --manage-rbac` (docs/reference/identity.md): the agent keeps its cluster's role
 * bindings what the gateway says: against the kube-apiserver double and a real gateway, the
 * bindings are created, left alone when right, replaced when drifted, pruned when their role is
 * gone, and a role added at the gateway appears by itself; bindings kubegate does not label are
 * never touched. The endpoint serves a cluster's own agent token only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RbacReconciler } from '../../src/agent/rbac-reconciler.js';
import { createLogger } from '../../src/log.js';
import { packageVersion } from '../../src/render/documents.js';
import { startKubeDouble, type KubeDouble } from '../kube-double/index.js';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';

const BINDINGS = { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' };
const ROLE_BINDINGS = ['kubegate:role:member', 'kubegate:role:owner', 'kubegate:role:viewer'];

describe('agent: role bindings kept as the gateway says (--manage-rbac)', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let double: KubeDouble;
  let admin: string;
  let agentToken: string;
  let reconciler: RbacReconciler;

  const managed = () =>
    double.store
      .list(BINDINGS)
      .filter((b) => b.metadata.labels?.['kubegate.io/role-binding'] === 'true')
      .map((b) => `${b.metadata.name}→${(b.roleRef as { name: string }).name}`);

  before(async () => {
    gw = await startTestGateway(['--viewer-cluster-role', 'view']);
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    const reg = await call(gw, 'POST', '/v1/clusters', { token: admin, body: { id: 'edge', connection: 'agent' } });
    assert.equal(reg.status, 201, reg.text);
    agentToken = reg.body.agentToken;
    const tokenFile = join(gw.dir, 'agent-token');
    await writeFile(tokenFile, `${agentToken}\n`, { mode: 0o600 });
    double = await startKubeDouble();
    // What KubeCredentials would read from the pod: the double's URL, CA and a ServiceAccount token.
    const credentials = { state: { server: double.url, caData: Buffer.from(double.caPem).toString('base64'), token: double.gatewayToken, version: packageVersion() } };
    reconciler = new RbacReconciler({ gateway: new URL(gw.url), clusterId: 'edge', tokenFile, gatewayCaPem: gw.caPem }, credentials, createLogger('silent'), 50);
  });

  after(async () => {
    await reconciler?.stop();
    await double?.stop();
    await gw?.stop();
  });

  it('creates the bindings, then finds nothing to do', async () => {
    assert.deepEqual(await reconciler.reconcile(), { created: ['kubegate:role:owner', 'kubegate:role:member', 'kubegate:role:viewer'], replaced: [], deleted: [] });
    assert.deepEqual(managed().sort(), ['kubegate:role:member→edit', 'kubegate:role:owner→cluster-admin', 'kubegate:role:viewer→view']);
    assert.deepEqual(await reconciler.reconcile(), { created: [], replaced: [], deleted: [] });
    // The groups now mean something in the cluster.
    const viewer = { username: 'vic', uid: '', groups: ['kubegate:role:viewer'], extra: {} };
    const attributes = { verb: 'list', resourceRequest: true, apiGroup: '', apiVersion: 'v1', resource: 'pods', subresource: '', namespace: '', name: '', path: '' };
    assert.equal(double.can({ ...attributes, user: viewer }), true);
    assert.equal(double.can({ ...attributes, verb: 'delete', user: viewer }), false);
  });

  it('replaces a drifted binding and prunes one whose role is gone; leaves unlabelled bindings alone', async () => {
    const drifted = double.store.get(BINDINGS, '', 'kubegate:role:viewer');
    double.store.update(BINDINGS, { ...drifted, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' } });
    double.applyRbac(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubegate:role:retired
  labels: {kubegate.io/role-binding: "true"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "kubegate:role:retired"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: someone-elses}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "kubegate:role:viewer"}]
`);
    assert.deepEqual(await reconciler.reconcile(), { created: [], replaced: ['kubegate:role:viewer'], deleted: ['kubegate:role:retired'] });
    assert.deepEqual(managed().sort(), ['kubegate:role:member→edit', 'kubegate:role:owner→cluster-admin', 'kubegate:role:viewer→view']);
    assert.equal(double.store.has(BINDINGS, '', 'someone-elses'), true);
  });

  it('running, it follows roles added and deleted at the gateway', async () => {
    const seen = (name: string, present: boolean) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (double.store.has(BINDINGS, '', name) === present) {
            unsubscribe();
            resolve();
          }
        };
        const unsubscribe = double.store.subscribe(check);
        check();
      });
    reconciler.start();
    const created = await call(gw, 'POST', '/v1/roles', { token: admin, body: { name: 'deployer', clusterRole: 'edit' } });
    assert.equal(created.status, 201, created.text);
    await seen('kubegate:role:deployer', true);
    assert.deepEqual(managed().sort(), [...ROLE_BINDINGS, 'kubegate:role:deployer'].sort().map((n) => `${n}→${{ 'kubegate:role:member': 'edit', 'kubegate:role:owner': 'cluster-admin', 'kubegate:role:viewer': 'view', 'kubegate:role:deployer': 'edit' }[n]}`));
    assert.equal((await call(gw, 'DELETE', '/v1/roles/deployer', { token: admin })).status, 204);
    await seen('kubegate:role:deployer', false);
  });

  it("serves a cluster's own agent token only", async () => {
    const other = await call(gw, 'POST', '/v1/clusters', { token: admin, body: { id: 'other', connection: 'agent' } });
    assert.equal((await call(gw, 'GET', '/v1/clusters/other/rbac', { token: agentToken })).status, 403);
    const own = await call(gw, 'GET', '/v1/clusters/other/rbac', { token: other.body.agentToken });
    assert.equal(own.status, 200, own.text);
    assert.deepEqual(own.body.bindings[0], { role: 'owner', group: 'kubegate:role:owner', clusterRole: 'cluster-admin' });
    await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
    const alice = await login(gw, 'alice', 'alice-password');
    assert.equal((await call(gw, 'GET', '/v1/clusters/edge/rbac', { token: alice })).status, 403);
  });
});
