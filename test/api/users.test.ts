/** `GET/POST /v1/users`, `GET/PATCH/DELETE /v1/users/{id}` (admin, docs/reference/api.md) and body handling. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertApiError, putMember, registerCluster } from './fixtures.js';

const USER_KEYS = ['id', 'username', 'groups', 'admin', 'enabled', 'source', 'subject', 'createdAt', 'updatedAt'];

describe('users API', () => {
  let gw: TestGateway;
  let admin: string;
  let adminId: string;
  let plain: string;
  let plainId: string;

  before(async () => {
    gw = await startTestGateway();
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    adminId = (await call(gw, 'GET', '/v1/me', { token: admin })).body.id;
    plainId = await createUser(gw, admin, { username: 'plain', password: 'plain-password' });
    plain = await login(gw, 'plain', 'plain-password');
  });
  after(async () => {
    await gw.stop();
  });

  describe('admin CRUD', () => {
    let carolId: string;

    it('creates a user: 201 with the user and no password or hash', async () => {
      const res = await call(gw, 'POST', '/v1/users', {
        token: admin,
        body: { username: 'carol', password: 'carol-password', groups: ['dev', 'ops', 'dev'], admin: false },
      });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(Object.keys(res.body), USER_KEYS);
      assert.match(res.body.id, /^u-[a-z2-7]{16}$/);
      assert.equal(res.body.username, 'carol');
      assert.deepEqual(res.body.groups, ['dev', 'ops']);
      assert.equal(res.body.admin, false);
      assert.equal(res.body.enabled, true);
      assert.deepEqual([res.body.source, res.body.subject], ['local', null]);
      assert.ok(!res.text.includes('carol-password'), 'the password is not echoed');
      assert.ok(!res.text.includes('argon2'), 'no hash in the answer');
      carolId = res.body.id;
      assert.equal((await call(gw, 'GET', '/v1/me', { token: await login(gw, 'carol', 'carol-password') })).body.id, carolId);
    });

    it('lists users and reads one', async () => {
      const list = await call(gw, 'GET', '/v1/users', { token: admin });
      assert.equal(list.status, 200);
      assert.deepEqual(Object.keys(list.body), ['items']);
      const names = list.body.items.map((u: { username: string }) => u.username);
      assert.ok(names.includes('admin') && names.includes('plain') && names.includes('carol'), 'every user is listed');
      for (const u of list.body.items) assert.deepEqual(Object.keys(u), USER_KEYS);
      assert.ok(!list.text.includes('argon2'), 'no hash in the list');

      const one = await call(gw, 'GET', `/v1/users/${carolId}`, { token: admin });
      assert.equal(one.status, 200);
      assert.equal(one.body.username, 'carol');
      assert.deepEqual(one.body.groups, ['dev', 'ops']);
    });

    it('answers 409 to a duplicate username', async () => {
      const res = await call(gw, 'POST', '/v1/users', { token: admin, body: { username: 'carol', password: 'another-password' } });
      assertApiError(res, 409, 'Conflict', /carol/);
      // The original password still works.
      await login(gw, 'carol', 'carol-password');
    });

    it('patches groups and admin, and the change shows in /v1/me of an existing token', async () => {
      const token = await login(gw, 'carol', 'carol-password');
      assert.deepEqual((await call(gw, 'GET', '/v1/me', { token })).body.groups, ['dev', 'ops']);
      const res = await call(gw, 'PATCH', `/v1/users/${carolId}`, { token: admin, body: { groups: ['qa'], admin: true } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.groups, ['qa']);
      assert.equal(res.body.admin, true);
      const me = await call(gw, 'GET', '/v1/me', { token });
      assert.deepEqual(me.body.groups, ['qa']);
      assert.equal(me.body.admin, true);
      assert.equal((await call(gw, 'GET', '/v1/users', { token })).status, 200);
      const back = await call(gw, 'PATCH', `/v1/users/${carolId}`, { token: admin, body: { admin: false } });
      assert.equal(back.body.admin, false);
      assert.deepEqual(back.body.groups, ['qa']);
      assertApiError(await call(gw, 'GET', '/v1/users', { token }), 403, 'Forbidden');
    });

    it('patches the password: the new one logs in, the old one does not', async () => {
      const res = await call(gw, 'PATCH', `/v1/users/${carolId}`, { token: admin, body: { password: 'carol-new-password' } });
      assert.equal(res.status, 200);
      assert.ok(!res.text.includes('carol-new-password'), 'the new password is not echoed');
      await login(gw, 'carol', 'carol-new-password');
      assertApiError(await call(gw, 'POST', '/v1/login', { body: { username: 'carol', password: 'carol-password' } }), 401, 'Unauthorized');
    });

    it('patches enabled', async () => {
      const off = await call(gw, 'PATCH', `/v1/users/${carolId}`, { token: admin, body: { enabled: false } });
      assert.equal(off.status, 200);
      assert.equal(off.body.enabled, false);
      assertApiError(await call(gw, 'POST', '/v1/login', { body: { username: 'carol', password: 'carol-new-password' } }), 401, 'Unauthorized');
      const on = await call(gw, 'PATCH', `/v1/users/${carolId}`, { token: admin, body: { enabled: true } });
      assert.equal(on.body.enabled, true);
      await login(gw, 'carol', 'carol-new-password');
    });

    it('deletes a user (204); the user is gone', async () => {
      assert.equal((await call(gw, 'DELETE', `/v1/users/${carolId}`, { token: admin })).status, 204);
      assertApiError(await call(gw, 'GET', `/v1/users/${carolId}`, { token: admin }), 404, 'NotFound');
      assertApiError(await call(gw, 'POST', '/v1/login', { body: { username: 'carol', password: 'carol-new-password' } }), 401, 'Unauthorized');
      const names = (await call(gw, 'GET', '/v1/users', { token: admin })).body.items.map((u: { username: string }) => u.username);
      assert.ok(!names.includes('carol'), 'the deleted user is not listed');
    });

    it("drops a deleted user's direct memberships, so a new user of the same name inherits nothing", async () => {
      await registerCluster(gw, admin, 'inherit');
      const ghostId = await createUser(gw, admin, { username: 'ghost', password: 'ghost-password', groups: ['crew'] });
      await putMember(gw, admin, 'inherit', 'user:ghost', 'owner');
      await putMember(gw, admin, 'inherit', 'group:crew');
      assert.equal((await call(gw, 'DELETE', `/v1/users/${ghostId}`, { token: admin })).status, 204);
      const members = await call(gw, 'GET', '/v1/clusters/inherit/members', { token: admin });
      assert.deepEqual(members.body.items, [{ clusterId: 'inherit', principal: 'group:crew', role: 'member' }]);

      await createUser(gw, admin, { username: 'ghost', password: 'ghost-password-2' });
      const token = await login(gw, 'ghost', 'ghost-password-2');
      assert.deepEqual((await call(gw, 'GET', '/v1/clusters', { token })).body.items, []);
      assertApiError(await call(gw, 'GET', '/v1/clusters/inherit/members', { token }), 403, 'Forbidden');
    });

    it('answers 404 for an unknown id on GET, PATCH and DELETE', async () => {
      assertApiError(await call(gw, 'GET', '/v1/users/u-doesnotexist', { token: admin }), 404, 'NotFound');
      assertApiError(await call(gw, 'PATCH', '/v1/users/u-doesnotexist', { token: admin, body: { groups: [] } }), 404, 'NotFound');
      assertApiError(await call(gw, 'DELETE', '/v1/users/u-doesnotexist', { token: admin }), 404, 'NotFound');
    });

    it('does not let an admin disable, demote or delete themselves', async () => {
      assertApiError(await call(gw, 'PATCH', `/v1/users/${adminId}`, { token: admin, body: { enabled: false } }), 400, 'BadRequest');
      assertApiError(await call(gw, 'PATCH', `/v1/users/${adminId}`, { token: admin, body: { admin: false } }), 400, 'BadRequest');
      assertApiError(await call(gw, 'DELETE', `/v1/users/${adminId}`, { token: admin }), 400, 'BadRequest');
      const me = await call(gw, 'GET', '/v1/me', { token: admin });
      assert.equal(me.status, 200);
      assert.equal(me.body.admin, true);
    });
  });

  it('answers 403 to a non-admin on every users endpoint', async () => {
    const requests: [string, string, unknown?][] = [
      ['GET', '/v1/users'],
      ['POST', '/v1/users', { username: 'sneaky', password: 'sneaky-password' }],
      ['GET', `/v1/users/${adminId}`],
      ['PATCH', `/v1/users/${plainId}`, { admin: true }],
      ['DELETE', `/v1/users/${adminId}`],
      ['GET', '/v1/users/u-doesnotexist'],
    ];
    for (const [method, path, body] of requests) {
      assertApiError(await call(gw, method, path, { token: plain, body }), 403, 'Forbidden');
    }
    const me = await call(gw, 'GET', '/v1/me', { token: plain });
    assert.equal(me.body.admin, false);
    const names = (await call(gw, 'GET', '/v1/users', { token: admin })).body.items.map((u: { username: string }) => u.username);
    assert.ok(!names.includes('sneaky'), 'the non-admin created nobody');
    assertApiError(await call(gw, 'GET', '/v1/users'), 401, 'Unauthorized');
  });

  describe('validation', () => {
    const cases: [string, unknown, RegExp][] = [
      ['unknown field', { username: 'v1', password: 'long-enough', role: 'x' }, /unknown field "role"/],
      ['username of the wrong type', { username: 7, password: 'long-enough' }, /^username: /],
      ['groups of the wrong type', { username: 'v2', password: 'long-enough', groups: 'dev' }, /^groups: /],
      ['admin of the wrong type', { username: 'v3', password: 'long-enough', admin: 'yes' }, /^admin: /],
      ['a missing password', { username: 'v4' }, /^password: /],
      ['a short password', { username: 'v5', password: 'short' }, /^password: .*8/],
      ['bad username characters', { username: 'bad name', password: 'long-enough' }, /^username: /],
      ['a username with a colon', { username: 'user:x', password: 'long-enough' }, /^username: /],
      ['an empty username', { username: '', password: 'long-enough' }, /^username: /],
      ['a system: group', { username: 'v6', password: 'long-enough', groups: ['system:masters'] }, /^groups\.0: .*reserved/],
      ['the kubegate:authenticated group', { username: 'v7', password: 'long-enough', groups: ['ok', 'kubegate:authenticated'] }, /^groups\.1: .*reserved/],
      ['a group with a comma', { username: 'v8', password: 'long-enough', groups: ['a,b'] }, /^groups\.0: /],
      ['a JSON array body', ['x'], /^body: /],
    ];
    for (const [what, body, message] of cases) {
      it(`refuses ${what} with 400 naming the field`, async () => {
        assertApiError(await call(gw, 'POST', '/v1/users', { token: admin, body }), 400, 'BadRequest', message);
      });
    }

    it('validates PATCH bodies the same way', async () => {
      assertApiError(await call(gw, 'PATCH', `/v1/users/${plainId}`, { token: admin, body: { username: 'renamed' } }), 400, 'BadRequest', /unknown field "username"/);
      assertApiError(await call(gw, 'PATCH', `/v1/users/${plainId}`, { token: admin, body: { password: 'short' } }), 400, 'BadRequest', /^password: /);
      assertApiError(await call(gw, 'PATCH', `/v1/users/${plainId}`, { token: admin, body: { groups: ['system:masters'] } }), 400, 'BadRequest', /^groups\.0: /);
      assertApiError(await call(gw, 'PATCH', `/v1/users/${plainId}`, { token: admin, body: { enabled: 'false' } }), 400, 'BadRequest', /^enabled: /);
      await login(gw, 'plain', 'plain-password');
    });

    it('answers malformed JSON with 400 "body: malformed JSON"', async () => {
      const res = await call(gw, 'POST', '/v1/users', { token: admin, rawBody: '{"username": "x",' });
      assertApiError(res, 400, 'BadRequest', 'body: malformed JSON');
      assertApiError(await call(gw, 'POST', '/v1/users', { token: admin, rawBody: 'null' }), 400, 'BadRequest', 'body: malformed JSON');
    });

    it('answers a body over 64 KiB with 413', async () => {
      const body = { username: 'big', password: 'long-enough', groups: Array.from({ length: 4000 }, (_, i) => `group-number-${i}`) };
      assert.ok(JSON.stringify(body).length > 64 * 1024, 'the body is over 64 KiB');
      assertApiError(await call(gw, 'POST', '/v1/users', { token: admin, body }), 413, 'RequestEntityTooLarge');
      // Refused before authentication too: the body is never parsed.
      assertApiError(await call(gw, 'POST', '/v1/login', { body: { username: 'x', password: 'y'.repeat(70_000) } }), 413, 'RequestEntityTooLarge');
    });

    it('answers a non-JSON content type with 415', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await call(gw, 'POST', '/v1/users', {
          token: admin,
          rawBody: 'username=x&password=long-enough',
          headers: { 'Content-Type': type },
        });
        assertApiError(res, 415, 'UnsupportedMediaType');
      }
      const charset = await call(gw, 'POST', '/v1/users', {
        token: admin,
        rawBody: JSON.stringify({ username: 'charset', password: 'long-enough' }),
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
      });
      assert.equal(charset.status, 201, charset.text);
    });
  });
});
