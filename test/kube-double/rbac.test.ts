/**
 * The double's RBAC: impersonation is checked per resource against the ClusterRole
 * `kubegate render impersonator` prints (so a gateway sending a header that role does not grant
 * fails), SubjectAccessReview and SelfSubjectAccessReview answer from the stored policy, and in
 * RBAC mode ordinary requests follow ClusterRoleBindings (real kubectl, `auth can-i` included).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { renderImpersonator } from '../../src/render/impersonator.js';
import { DEFAULT_BUILT_IN_CLUSTER_ROLES, renderRbac } from '../../src/render/rbac.js';
import { bearer, request } from './client.js';
import { startKubeDouble, writeKubeconfig, type KubeDouble } from './index.js';
import { runKubectl } from './kubectl.js';

const whoami = (double: KubeDouble, headers: Record<string, string | string[]>) =>
  request(double, {
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1' }),
  });

const review = (double: KubeDouble, token: string, kind: 'SubjectAccessReview' | 'SelfSubjectAccessReview', spec: unknown, headers: Record<string, string> = {}) =>
  request(double, {
    method: 'POST',
    path: `/apis/authorization.k8s.io/v1/${kind.toLowerCase()}s`,
    headers: { 'Content-Type': 'application/json', ...bearer(token), ...headers },
    body: JSON.stringify({ kind, apiVersion: 'authorization.k8s.io/v1', spec }),
  });

const binding = (name: string, role: string, subject: { kind: string; name: string }) =>
  stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
  });

const clusterRole = (name: string, rules: unknown[]) => stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules });

describe('kube-apiserver double: RBAC', () => {
  let double: KubeDouble;
  let dir: string;
  const tokens = {
    'bob-token': { username: 'bob', groups: ['devs'] },
    'vic-token': { username: 'vic', groups: ['viewers'] },
    'root-token': { username: 'root', groups: ['system:masters'] },
  };

  before(async () => {
    double = await startKubeDouble({ staticTokens: tokens });
    dir = await mkdtemp(join(tmpdir(), 'kube-double-rbac-'));
  });

  after(async () => {
    await double.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('starts with the bootstrap policy and the ClusterRole render impersonator prints', () => {
    const roles = double.store.list({ group: 'rbac.authorization.k8s.io', resource: 'clusterroles' }).map((r) => r.metadata.name);
    assert.deepEqual(roles, ['admin', 'cluster-admin', 'edit', 'kubegate-impersonator', 'system:basic-user', 'system:discovery', 'view']);
    const rendered = renderImpersonator();
    const stored = double.store.get({ group: 'rbac.authorization.k8s.io', resource: 'clusterroles' }, '', 'kubegate-impersonator');
    assert.ok(rendered.includes('userextras/kubegate.io/token-id'));
    assert.deepEqual(stored.rules, [
      { apiGroups: [''], resources: ['users', 'groups', 'serviceaccounts'], verbs: ['impersonate'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['uids', 'userextras/kubegate.io/token-id', 'userextras/kubegate.io/impersonated-by'], verbs: ['impersonate'] },
    ]);
  });

  test('the gateway may impersonate what the rendered role grants; any other extra key is refused by name', async () => {
    const granted = await whoami(double, { ...bearer(double.gatewayToken), 'Impersonate-User': 'alice', 'Impersonate-Uid': 'u-1', 'Impersonate-Group': 'dev', 'Impersonate-Extra-kubegate.io%2Ftoken-id': 't-1' });
    assert.equal(granted.status, 201, granted.body);
    const refused = await whoami(double, { ...bearer(double.gatewayToken), 'Impersonate-User': 'alice', 'Impersonate-Extra-Scopes': 'a' });
    assert.equal(refused.status, 403);
    assert.deepEqual(JSON.parse(refused.body), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'userextras.authentication.k8s.io "a" is forbidden: User "system:serviceaccount:kubegate:kubegate-impersonator" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope',
      reason: 'Forbidden',
      details: { name: 'a', group: 'authentication.k8s.io', kind: 'userextras' },
      code: 403,
    });
    const serviceAccount = await whoami(double, { ...bearer('bob-token'), 'Impersonate-User': 'system:serviceaccount:ns1:robot' });
    assert.equal(serviceAccount.status, 403);
    assert.match(JSON.parse(serviceAccount.body).message, /User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "ns1"$/);
  });

  test('impersonation is checked per item: a user yes, a group no; resourceNames narrow it', async () => {
    double.applyRbac(
      clusterRole('impersonate-alice', [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['alice'] }]) +
        '---\n' +
        binding('bob-impersonates-alice', 'impersonate-alice', { kind: 'User', name: 'bob' }),
    );
    const user = await whoami(double, { ...bearer('bob-token'), 'Impersonate-User': 'alice' });
    assert.equal(user.status, 201, user.body);
    assert.deepEqual(JSON.parse(user.body).status.userInfo, { username: 'alice', groups: ['system:authenticated'] });
    const other = await whoami(double, { ...bearer('bob-token'), 'Impersonate-User': 'carol' });
    assert.equal(other.status, 403);
    const group = await whoami(double, { ...bearer('bob-token'), 'Impersonate-User': 'alice', 'Impersonate-Group': 'system:masters' });
    assert.equal(group.status, 403);
    assert.equal(JSON.parse(group.body).message, 'groups "system:masters" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope');
    const masters = await whoami(double, { ...bearer('root-token'), 'Impersonate-User': 'anyone', 'Impersonate-Group': 'system:masters' });
    assert.equal(masters.status, 201);
  });

  test('SubjectAccessReview answers from the stored policy, with the binding that allowed it', async () => {
    const ask = (spec: unknown) => review(double, 'root-token', 'SubjectAccessReview', spec);
    const viaGroup = await ask({ user: 'x', groups: ['system:masters'], resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'default' } });
    assert.equal(viaGroup.status, 201);
    assert.equal(JSON.parse(viaGroup.body).status.allowed, true);
    const impersonator = await ask({ user: double.gatewayUser.username, groups: double.gatewayUser.groups, resourceAttributes: { verb: 'impersonate', resource: 'users', name: 'alice' } });
    assert.deepEqual(JSON.parse(impersonator.body).status, {
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "kubegate-impersonator" of ClusterRole "kubegate-impersonator" to ServiceAccount "kubegate-impersonator/kubegate"',
    });
    const stranger = await ask({ user: 'bob', groups: ['devs'], resourceAttributes: { verb: 'impersonate', resource: 'groups', name: 'system:masters' } });
    assert.deepEqual(JSON.parse(stranger.body).status, { allowed: false });
    const extra = await ask({ user: 'bob', resourceAttributes: { verb: 'impersonate', group: 'authentication.k8s.io', resource: 'userextras', subresource: 'scopes', name: 'a' } });
    assert.deepEqual(JSON.parse(extra.body).status, { allowed: false });
    const discovery = await ask({ groups: ['system:authenticated'], nonResourceAttributes: { verb: 'get', path: '/apis/apps' } });
    assert.equal(JSON.parse(discovery.body).status.allowed, true);
    const neither = await ask({ user: 'bob' });
    assert.equal(neither.status, 422);
    const nobody = await ask({ resourceAttributes: { verb: 'get', resource: 'pods' } });
    assert.equal(nobody.status, 422);
  });

  test('SelfSubjectAccessReview asks about the caller, impersonated or not', async () => {
    const own = await review(double, 'bob-token', 'SelfSubjectAccessReview', { resourceAttributes: { verb: 'impersonate', resource: 'users', name: 'alice' } });
    assert.equal(own.status, 201);
    assert.equal(JSON.parse(own.body).status.allowed, true);
    const asAlice = await review(double, double.gatewayToken, 'SelfSubjectAccessReview', { resourceAttributes: { verb: 'impersonate', resource: 'users', name: 'alice' } }, { 'Impersonate-User': 'alice' });
    assert.deepEqual(JSON.parse(asAlice.body).status, { allowed: false });
  });

  test('kubectl apply takes what kubegate render rbac prints (RBAC names may hold colons)', async () => {
    const file = join(dir, 'rbac.yaml');
    await writeFile(file, renderRbac(DEFAULT_BUILT_IN_CLUSTER_ROLES, [{ name: 'deployer', clusterRole: 'edit' }]));
    const kubeconfig = join(dir, 'root.yaml');
    await writeKubeconfig(kubeconfig, { server: double.url, caPem: double.caPem, token: 'root-token' });
    const applied = await runKubectl(['apply', '-f', file], { kubeconfig });
    assert.equal(applied.exitCode, 0, applied.stderr);
    assert.match(applied.stdout, /clusterrolebinding\.rbac\.authorization\.k8s\.io\/kubegate:role:deployer created/);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'a/b' }, rules: [] }));
    const refused = await runKubectl(['apply', '-f', bad], { kubeconfig });
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /may not contain '\/'/);
  });

  test('in RBAC mode, kubectl follows bindings: view lists pods everywhere but cannot delete; auth can-i agrees', async () => {
    double.setOptions({ authorizationMode: 'RBAC' });
    try {
      double.applyRbac(binding('viewers-view', 'view', { kind: 'Group', name: 'viewers' }));
      const kubeconfig = join(dir, 'vic.yaml');
      await writeKubeconfig(kubeconfig, { server: double.url, caPem: double.caPem, token: 'vic-token' });
      const get = await runKubectl(['get', 'pods', '-A'], { kubeconfig });
      assert.equal(get.exitCode, 0, get.stderr);
      assert.match(get.stdout, /default\s+web-0/);
      const del = await runKubectl(['delete', 'pod', 'web-0', '-n', 'default'], { kubeconfig });
      assert.equal(del.exitCode, 1);
      assert.match(del.stderr, /pods "web-0" is forbidden: User "vic" cannot delete resource "pods" in API group "" in the namespace "default"/);
      const canGet = await runKubectl(['auth', 'can-i', 'list', 'pods', '-A'], { kubeconfig });
      assert.equal(canGet.stdout.trim(), 'yes', canGet.stderr);
      const canDelete = await runKubectl(['auth', 'can-i', 'delete', 'pods'], { kubeconfig });
      assert.equal(canDelete.stdout.trim(), 'no');

      double.applyRbac(binding('viewers-view', 'edit', { kind: 'Group', name: 'viewers' }));
      const now = await runKubectl(['delete', 'pod', 'web-0', '-n', 'default'], { kubeconfig });
      assert.equal(now.exitCode, 0, now.stderr);
      const bob = await request(double, { path: '/api/v1/namespaces', headers: bearer('bob-token') });
      assert.equal(bob.status, 403);
      assert.equal(JSON.parse(bob.body).message, 'namespaces is forbidden: User "bob" cannot list resource "namespaces" in API group "" at the cluster scope');
    } finally {
      double.setOptions({ authorizationMode: 'AlwaysAllow' });
    }
  });
});
