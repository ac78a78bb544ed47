/**
 * Checked impersonation through the gateway (docs/reference/identity.md): real `kubectl --as`
 * against the kube-apiserver double, whose RBAC decides both what the user may impersonate (asked
 * by the gateway as the user, with a SelfSubjectAccessReview) and what the gateway's rendered
 * impersonator role lets the gateway send. Security assertions read what the cluster received.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { eventually } from '../webhook/support.js';
import { gatewayKubeconfig, kubectl, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { call } from '../support/gateway.js';

const SSAR_PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

const impersonationGrant = (name: string, subject: { kind: string; name: string }, rules: unknown[]) =>
  stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules }) +
  '---\n' +
  stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
  });

describe('checked impersonation (kubectl --as)', () => {
  let world: ProxyWorld;
  let alice: Awaited<ReturnType<typeof memberUser>>;
  let kubeconfig: string;
  const whoami = async (args: string[]) => {
    const res = await kubectl(kubeconfig, ['auth', 'whoami', '-o', 'json', ...args]);
    return { ...res, user: res.code === 0 ? JSON.parse(res.stdout).status.userInfo : undefined };
  };
  /** The refusal as an HTTP/1.1 client reads it: the exact Status. */
  const refusalOf = async (headers: Record<string, string | string[]>) => {
    const res = await call(world.gw, 'GET', `/k8s/clusters/${world.clusterId}/api/v1/namespaces`, { token: alice.token, headers });
    assert.equal(res.status, 403, res.text);
    assert.equal(res.body.kind, 'Status');
    assert.equal(res.body.reason, 'Forbidden');
    return res.body.message as string;
  };
  /** Requests that reached the cluster acting as `username`. */
  const actedAs = (username: string) => world.double.requests.filter((r) => r.effective?.username === username);

  before(async () => {
    world = await startProxyWorld();
    alice = await memberUser(world, { username: 'alice', groups: ['dev'] });
    kubeconfig = await gatewayKubeconfig(world, alice.token, 'alice.yaml');
    // The cluster lets alice impersonate user bob, and group ops; nothing else.
    world.double.applyRbac(
      impersonationGrant('alice-impersonates', { kind: 'User', name: 'alice' }, [
        { apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['bob'] },
        { apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: ['ops'] },
      ]),
    );
  });
  after(() => world.stop());

  it('allowed: acts as the requested identity, with kubegate.io/impersonated-by and the caller in the audit line', async () => {
    world.double.clearRequests();
    const res = await whoami(['--as', 'bob', '--as-group', 'ops']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(res.user, { username: 'bob', groups: ['ops', 'system:authenticated'], extra: { 'kubegate.io/impersonated-by': ['alice'] } });
    // Asked as alice (with her groups, role group included), once per item.
    const reviews = world.double.requests.filter((r) => r.path === SSAR_PATH);
    assert.deepEqual(reviews.map((r) => r.effective?.username), ['alice', 'alice']);
    assert.deepEqual(reviews[0]!.effective?.groups, ['dev', 'kubegate:role:member', 'kubegate:authenticated', 'system:authenticated']);
    assert.deepEqual(reviews.map((r) => JSON.parse(r.body).spec.resourceAttributes).sort((a, b) => a.resource.localeCompare(b.resource)), [
      { verb: 'impersonate', group: '', resource: 'groups', name: 'ops' },
      { verb: 'impersonate', group: '', resource: 'users', name: 'bob' },
    ]);
    const acted = world.double.requests.at(-1)!;
    assert.equal(acted.authenticatedAs?.username, world.double.gatewayUser.username);
    assert.deepEqual(acted.headersDistinct['impersonate-user'], ['bob']);
    assert.equal(acted.headersDistinct.authorization?.length, 1);
    assert.ok(!acted.headersDistinct.authorization![0]!.includes(alice.token), 'the client token never reaches the cluster');

    const auditPath = join(world.gw.dir, 'audit.log');
    await eventually('the audit line', async () => (await readFile(auditPath, 'utf8')).includes('"impersonatedUser":"bob"'), 5_000);
    const line = (await readFile(auditPath, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.impersonatedUser === 'bob');
    assert.equal(line.user, 'alice');
    assert.deepEqual(line.impersonatedGroups, ['ops']);
  });

  it('refused: a 403 Status naming the user, and nothing acts as them', async () => {
    world.double.clearRequests();
    // kubectl auth whoami POSTs a body: over h2 the refused upload's stream is reset only after
    // the answer has gone out, so kubectl reads the 403 (and words it as it does for
    // kube-apiserver) instead of a stream error.
    const res = await whoami(['--as', 'carol']);
    assert.equal(res.code, 1);
    assert.doesNotMatch(res.stderr, /stream error/);
    assert.match(res.stderr, /you do not have permission/);
    const get = await kubectl(kubeconfig, ['get', 'ns', '--as', 'carol']);
    assert.equal(get.code, 1);
    assert.match(get.stderr, /Error from server \(Forbidden\): cluster "double" does not allow alice to impersonate user "carol" \(kubectl --as\)/);
    assert.equal(await refusalOf({ 'Impersonate-User': 'carol' }), 'cluster "double" does not allow alice to impersonate user "carol" (kubectl --as)');
    assert.deepEqual(actedAs('carol'), []);
  });

  it('partly allowed (the user yes, a group no): refused, naming only the group', async () => {
    world.double.clearRequests();
    const res = await whoami(['--as', 'bob', '--as-group', 'ops', '--as-group', 'admins']);
    assert.equal(res.code, 1);
    assert.equal(
      await refusalOf({ 'Impersonate-User': 'bob', 'Impersonate-Group': ['ops', 'admins'] }),
      'cluster "double" does not allow alice to impersonate group "admins" (kubectl --as)',
    );
    assert.deepEqual(actedAs('bob'), []);
  });

  it('system:masters is never reached through a group the cluster does not grant', async () => {
    world.double.clearRequests();
    for (const args of [['--as', 'bob', '--as-group', 'system:masters'], ['--as', 'bob', '--as-group', 'ops', '--as-group', 'system:masters']]) {
      const res = await whoami(args);
      assert.equal(res.code, 1);
    }
    assert.match(await refusalOf({ 'Impersonate-User': 'bob', 'Impersonate-Group': ['ops', 'system:masters'] }), /impersonate group "system:masters" \(kubectl --as\)$/);
    assert.ok(world.double.requests.every((r) => !r.effective?.groups.includes('system:masters')), 'no request acted with system:masters');
    // kubectl exec, an upgrade, is checked the same way: refused, or run as the allowed identity.
    const exec = await kubectl(kubeconfig, ['exec', 'web-0', '--as', 'bob', '--as-group', 'system:masters', '--', 'whoami']);
    assert.equal(exec.code, 1);
    assert.ok(world.double.requests.every((r) => !r.effective?.groups.includes('system:masters')), 'no request acted with system:masters');
    const allowed = await kubectl(kubeconfig, ['exec', 'web-0', '--as', 'bob', '--', 'whoami']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.stdout.trim(), 'bob');
    assert.equal(world.double.requests.find((r) => r.upgrade)?.effective?.username, 'bob');
  });

  it('answers are cached briefly: the same request again asks the cluster nothing', async () => {
    assert.equal((await whoami(['--as', 'bob'])).code, 0);
    world.double.clearRequests();
    assert.equal((await whoami(['--as', 'bob'])).code, 0);
    assert.deepEqual(world.double.requests.filter((r) => r.path === SSAR_PATH), []);
  });

  it('a role group the cluster trusts may impersonate: owners of the cluster, here', async () => {
    world.double.applyRbac(impersonationGrant('owners-impersonate', { kind: 'Group', name: 'kubegate:role:owner' }, [{ apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] }]));
    assert.equal((await whoami(['--as', 'dora'])).code, 1, 'alice is a member, not an owner');
    const promoted = await call(world.gw, 'PUT', `/v1/clusters/${world.clusterId}/members`, { token: world.adminToken, body: { principal: 'user:alice', role: 'owner' } });
    assert.equal(promoted.status, 200, promoted.text);
    const res = await whoami(['--as', 'dora', '--as-group', 'qa']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.user.username, 'dora');
  });

  it('a service account is asked for as serviceaccounts in its namespace, and acts with its default groups', async () => {
    world.double.applyRbac(
      impersonationGrant('alice-robot', { kind: 'User', name: 'alice' }, [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'], resourceNames: ['robot'] }]),
    );
    world.double.clearRequests();
    const res = await whoami(['--as', 'system:serviceaccount:ns1:robot']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(res.user, {
      username: 'system:serviceaccount:ns1:robot',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'],
      extra: { 'kubegate.io/impersonated-by': ['alice'] },
    });
    const review = world.double.requests.find((r) => r.path === SSAR_PATH)!;
    assert.deepEqual(JSON.parse(review.body).spec.resourceAttributes, { verb: 'impersonate', group: '', resource: 'serviceaccounts', namespace: 'ns1', name: 'robot' });
    assert.match(await refusalOf({ 'Impersonate-User': 'system:serviceaccount:ns1:other' }), /impersonate service account "ns1\/other" \(kubectl --as\)$/);
  });

  it('refuses groups without a user (400) and a client-set kubegate.io/impersonated-by (403), asking the cluster nothing', async () => {
    world.double.clearRequests();
    const base = `/k8s/clusters/${world.clusterId}/api/v1/namespaces`;
    const groupOnly = await call(world.gw, 'GET', base, { token: alice.token, headers: { 'Impersonate-Group': 'ops' } });
    assert.equal(groupOnly.status, 400);
    assert.match(groupOnly.body.message, /needs Impersonate-User/);
    const forged = await call(world.gw, 'GET', base, { token: alice.token, headers: { 'Impersonate-User': 'bob', 'Impersonate-Extra-kubegate.io%2Fimpersonated-by': 'nobody' } });
    assert.equal(forged.status, 403);
    assert.match(forged.body.message, /set by kubegate only/);
    assert.deepEqual(world.double.requests, []);
  });

  it('an extra the rendered impersonator role does not grant fails at the cluster, even when the user may impersonate it', async () => {
    world.double.applyRbac(impersonationGrant('alice-scopes', { kind: 'User', name: 'alice' }, [{ apiGroups: ['authentication.k8s.io'], resources: ['userextras/scopes'], verbs: ['impersonate'] }]));
    const res = await call(world.gw, 'GET', `/k8s/clusters/${world.clusterId}/api/v1/namespaces`, { token: alice.token, headers: { 'Impersonate-User': 'bob', 'Impersonate-Extra-Scopes': 'read' } });
    assert.equal(res.status, 403, res.text);
    assert.match(res.body.message, /User "system:serviceaccount:kubegate:kubegate-impersonator" cannot impersonate resource "userextras\/scopes"/);
    // The user's request, not a broken credential: the cluster's state is not touched.
    const cluster = await call(world.gw, 'GET', `/v1/clusters/${world.clusterId}`, { token: world.adminToken });
    assert.notEqual(cluster.body.status?.state, 'CredentialRejected', JSON.stringify(cluster.body.status));
  });
});
