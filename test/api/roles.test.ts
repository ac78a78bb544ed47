/** `/v1/roles` and roles in memberships (docs/reference/api.md, identity.md): built-ins, custom roles, what each grants. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertApiError, putMember, registerCluster } from './fixtures.js';

describe('roles API', () => {
  let gw: TestGateway;
  let admin: string;
  let olga: string; // owner of "alpha"
  let vic: string; // viewer of "alpha", deployer through group "ops"

  before(async () => {
    gw = await startTestGateway(['--member-cluster-role', 'admin']);
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    await createUser(gw, admin, { username: 'olga', password: 'olga-password' });
    await createUser(gw, admin, { username: 'vic', password: 'vic-password', groups: ['ops'] });
    [olga, vic] = await Promise.all([login(gw, 'olga', 'olga-password'), login(gw, 'vic', 'vic-password')]);
    await registerCluster(gw, admin, 'alpha');
    await putMember(gw, admin, 'alpha', 'user:olga', 'owner');
    await putMember(gw, admin, 'alpha', 'user:vic', 'viewer');
  });

  after(async () => {
    await gw.stop();
  });

  it('lists the built-in roles with the ClusterRoles the settings give them', async () => {
    const res = await call(gw, 'GET', '/v1/roles', { token: vic });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items, [
      { name: 'owner', builtIn: true, clusterRole: 'cluster-admin', group: 'kubegate:role:owner', createdAt: null },
      { name: 'member', builtIn: true, clusterRole: 'admin', group: 'kubegate:role:member', createdAt: null },
      { name: 'viewer', builtIn: true, clusterRole: 'view', group: 'kubegate:role:viewer', createdAt: null },
    ]);
  });

  it('an admin defines a custom role; others may not', async () => {
    assertApiError(await call(gw, 'POST', '/v1/roles', { token: olga, body: { name: 'deployer', clusterRole: 'edit' } }), 403, 'Forbidden');
    const created = await call(gw, 'POST', '/v1/roles', { token: admin, body: { name: 'deployer', clusterRole: 'edit' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.name, 'deployer');
    assert.equal(created.body.group, 'kubegate:role:deployer');
    assert.equal(created.body.builtIn, false);
    assert.ok(!Number.isNaN(Date.parse(created.body.createdAt)));
    assertApiError(await call(gw, 'POST', '/v1/roles', { token: admin, body: { name: 'deployer', clusterRole: 'view' } }), 409, 'Conflict', 'role "deployer" already exists');
    const listed = await call(gw, 'GET', '/v1/roles', { token: admin });
    assert.deepEqual(listed.body.items.map((r: { name: string; clusterRole: string }) => [r.name, r.clusterRole]), [
      ['owner', 'cluster-admin'],
      ['member', 'admin'],
      ['viewer', 'view'],
      ['deployer', 'edit'],
    ]);
  });

  const badRoles: Array<[string, unknown, RegExp]> = [
    ['a built-in name', { name: 'viewer', clusterRole: 'view' }, /^name: is a built-in role/],
    ['upper case', { name: 'Deployer', clusterRole: 'edit' }, /^name: /],
    ['a role group as the name', { name: 'kubegate:role:x', clusterRole: 'edit' }, /^name: /],
    ['a name over 63 characters', { name: 'a'.repeat(64), clusterRole: 'edit' }, /^name: /],
    ['a ClusterRole with a slash', { name: 'ok', clusterRole: 'a/b' }, /^clusterRole: /],
    ['no ClusterRole', { name: 'ok' }, /^clusterRole: /],
    ['an unknown field', { name: 'ok', clusterRole: 'edit', namespace: 'x' }, /unknown field "namespace"/],
  ];
  for (const [what, body, message] of badRoles) {
    it(`refuses a role with ${what} (400)`, async () => {
      assertApiError(await call(gw, 'POST', '/v1/roles', { token: admin, body }), 400, 'BadRequest', message);
    });
  }

  it('members hold built-in or defined roles only; GET /v1/clusters shows every role held', async () => {
    assertApiError(
      await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: olga, body: { principal: 'group:ops', role: 'ghost' } }),
      400,
      'BadRequest',
      /^role: "ghost" is not a role/,
    );
    await putMember(gw, olga, 'alpha', 'group:ops', 'deployer');
    const mine = await call(gw, 'GET', '/v1/clusters/alpha', { token: vic });
    assert.equal(mine.body.role, 'viewer');
    assert.deepEqual(mine.body.roles, ['viewer', 'deployer']);
    assertApiError(await call(gw, 'GET', '/v1/clusters/alpha/members', { token: vic }), 403, 'Forbidden');
    const listed = await call(gw, 'GET', '/v1/clusters', { token: admin });
    assert.deepEqual(listed.body.items.map((c: { id: string; roles: string[] }) => [c.id, c.roles]), [['alpha', ['owner']]]);
  });

  it('a role held by a member is not deleted (409); unheld, it is (204), then 404', async () => {
    assertApiError(await call(gw, 'DELETE', '/v1/roles/deployer', { token: admin }), 409, 'Conflict', /held by members/);
    assertApiError(await call(gw, 'DELETE', '/v1/roles/deployer', { token: olga }), 403, 'Forbidden');
    assert.equal((await call(gw, 'DELETE', '/v1/clusters/alpha/members/group:ops', { token: admin })).status, 204);
    assert.equal((await call(gw, 'DELETE', '/v1/roles/deployer', { token: admin })).status, 204);
    assertApiError(await call(gw, 'DELETE', '/v1/roles/deployer', { token: admin }), 404, 'NotFound');
    assert.deepEqual((await call(gw, 'GET', '/v1/clusters/alpha', { token: vic })).body.roles, ['viewer']);
  });

  it('GET /v1/roles/rbac.yaml binds each role group to its ClusterRole', async () => {
    await call(gw, 'POST', '/v1/roles', { token: admin, body: { name: 'auditor', clusterRole: 'view' } });
    const res = await call(gw, 'GET', '/v1/roles/rbac.yaml', { token: vic });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/yaml/);
    const docs = parseAllDocuments(res.text).map((d) => d.toJS());
    assert.deepEqual(
      docs.map((d) => [d.kind, d.metadata.name, d.roleRef.name, d.subjects.map((s: { kind: string; name: string }) => `${s.kind}:${s.name}`)]),
      [
        ['ClusterRoleBinding', 'kubegate:role:owner', 'cluster-admin', ['Group:kubegate:role:owner']],
        ['ClusterRoleBinding', 'kubegate:role:member', 'admin', ['Group:kubegate:role:member']],
        ['ClusterRoleBinding', 'kubegate:role:viewer', 'view', ['Group:kubegate:role:viewer']],
        ['ClusterRoleBinding', 'kubegate:role:auditor', 'view', ['Group:kubegate:role:auditor']],
      ],
    );
  });
});
