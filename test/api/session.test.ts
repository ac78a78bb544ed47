/** `POST /v1/login`, `POST /v1/logout`, `GET /v1/me` and token revocation (docs/reference/api.md, tokens.md). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertApiError, putMember, putSetting, registerCluster, TOKEN_PATTERN } from './fixtures.js';

const MINUTE = 60_000;

describe('session API', () => {
  let gw: TestGateway;
  let now = Date.parse('2030-01-01T00:00:00Z');
  const clock = (): number => now;
  let admin: string;
  let aliceId: string;

  before(async () => {
    gw = await startTestGateway([], { clock });
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    aliceId = await createUser(gw, admin, { username: 'alice', password: 'alice-password', groups: ['dev'] });
    await registerCluster(gw, admin, 'reach');
    await registerCluster(gw, admin, 'other');
    await putMember(gw, admin, 'reach', 'user:alice');
  });
  after(async () => {
    await gw.stop();
  });

  describe('login', () => {
    it('answers 201 with a kgt_ token, its id, expiry now + session-ttl-minutes and the user', async () => {
      const res = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['expiresAt', 'token', 'tokenId', 'user']);
      const m = TOKEN_PATTERN.exec(res.body.token);
      assert.ok(m, `token shape: ${res.body.token}`);
      assert.equal(res.body.tokenId, m[1]);
      assert.equal(res.body.expiresAt, new Date(now + 960 * MINUTE).toISOString());
      assert.equal(res.body.user.id, aliceId);
      assert.equal(res.body.user.username, 'alice');
      assert.deepEqual(res.body.user.groups, ['dev']);
      assert.equal(res.body.user.admin, false);
      assert.equal(res.body.user.enabled, true);
      assert.ok(!('passwordHash' in res.body.user), 'no password hash in the user');
      assert.ok(!res.text.includes('argon2'), 'no argon2 hash in the answer');
    });

    it('gives each login a fresh token', async () => {
      const a = await login(gw, 'alice', 'alice-password');
      const b = await login(gw, 'alice', 'alice-password');
      assert.notEqual(a, b);
    });

    it('honours ttlSeconds and caps every TTL by auth-token-max-ttl-minutes', async () => {
      const short = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password', ttlSeconds: 120 } });
      assert.equal(short.status, 201);
      assert.equal(short.body.expiresAt, new Date(now + 120_000).toISOString());

      await putSetting(gw, admin, 'auth-token-max-ttl-minutes', 30);
      try {
        const capped = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } });
        assert.equal(capped.status, 201);
        assert.equal(capped.body.expiresAt, new Date(now + 30 * MINUTE).toISOString());
        const asked = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password', ttlSeconds: 86_400 } });
        assert.equal(asked.body.expiresAt, new Date(now + 30 * MINUTE).toISOString());
      } finally {
        await putSetting(gw, admin, 'auth-token-max-ttl-minutes', 129_600);
      }
    });

    it('uses the session-ttl-minutes setting', async () => {
      await putSetting(gw, admin, 'session-ttl-minutes', 45);
      try {
        const res = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } });
        assert.equal(res.body.expiresAt, new Date(now + 45 * MINUTE).toISOString());
      } finally {
        await putSetting(gw, admin, 'session-ttl-minutes', 960);
      }
    });

    it('makes a cluster-scoped token when given a clusterId the user can reach', async () => {
      const token = await login(gw, 'alice', 'alice-password', { clusterId: 'reach' });
      const me = await call(gw, 'GET', '/v1/me', { token });
      assert.equal(me.status, 200);
      assert.equal(me.body.clusterId, 'reach');
    });

    it('refuses a clusterId the user cannot reach with 403, worded as for an unknown cluster', async () => {
      const forbidden = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password', clusterId: 'other' } });
      assertApiError(forbidden, 403, 'Forbidden');
      const unknown = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password', clusterId: 'nowhere' } });
      assertApiError(unknown, 403, 'Forbidden');
      assert.equal(forbidden.body.error.message.replace('other', 'X'), unknown.body.error.message.replace('nowhere', 'X'));
      // An admin reaches every cluster.
      const adminScoped = await login(gw, 'admin', ADMIN_PASSWORD, { clusterId: 'other' });
      assert.equal((await call(gw, 'GET', '/v1/me', { token: adminScoped })).body.clusterId, 'other');
    });

    it('answers an unknown user and a wrong password with the same 401 body', async () => {
      const unknown = await call(gw, 'POST', '/v1/login', { body: { username: 'nobody', password: 'alice-password' } });
      const wrong = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'not-her-password' } });
      assertApiError(unknown, 401, 'Unauthorized');
      assertApiError(wrong, 401, 'Unauthorized');
      assert.equal(unknown.text, wrong.text);
      assert.ok(!unknown.text.includes('nobody'), 'the username is not echoed');
    });

    it('does not let a disabled user log in, with the same 401 body', async () => {
      const created = await call(gw, 'POST', '/v1/users', { token: admin, body: { username: 'dora', password: 'dora-password', enabled: false } });
      assert.equal(created.status, 201);
      const disabled = await call(gw, 'POST', '/v1/login', { body: { username: 'dora', password: 'dora-password' } });
      const wrong = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'not-her-password' } });
      assertApiError(disabled, 401, 'Unauthorized');
      assert.equal(disabled.text, wrong.text);
    });

    it('validates the body', async () => {
      assertApiError(await call(gw, 'POST', '/v1/login', { body: { username: 'alice' } }), 400, 'BadRequest', /^password: /);
      assertApiError(
        await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password', ttlSeconds: 1.5 } }),
        400,
        'BadRequest',
        /^ttlSeconds: /,
      );
      assertApiError(
        await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password', extra: 1 } }),
        400,
        'BadRequest',
        /unknown field "extra"/,
      );
    });
  });

  describe('me and logout', () => {
    it('GET /v1/me answers exactly {id,username,groups,admin,tokenId,clusterId}', async () => {
      const res = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } });
      const me = await call(gw, 'GET', '/v1/me', { token: res.body.token });
      assert.equal(me.status, 200);
      assert.deepEqual(me.body, { id: aliceId, username: 'alice', groups: ['dev'], admin: false, tokenId: res.body.tokenId, clusterId: null });
    });

    it('refuses /v1/me without a token, with a malformed one, and with an unknown one', async () => {
      assertApiError(await call(gw, 'GET', '/v1/me'), 401, 'Unauthorized');
      assertApiError(await call(gw, 'GET', '/v1/me', { token: 'not-a-token' }), 401, 'Unauthorized');
      assertApiError(await call(gw, 'GET', '/v1/me', { token: `kgt_t-aaaaaaaaaaaaaaaa.${'A'.repeat(43)}` }), 401, 'Unauthorized');
      assertApiError(await call(gw, 'GET', '/v1/me', { headers: { Authorization: 'Basic YWxpY2U6cHc=' } }), 401, 'Unauthorized');
    });

    it('logout revokes the presented token only (next call 401)', async () => {
      const token = await login(gw, 'alice', 'alice-password');
      const other = await login(gw, 'alice', 'alice-password');
      assert.equal((await call(gw, 'GET', '/v1/me', { token })).status, 200); // cached verdict
      const out = await call(gw, 'POST', '/v1/logout', { token });
      assert.equal(out.status, 204);
      assert.equal(out.text, '');
      assertApiError(await call(gw, 'GET', '/v1/me', { token }), 401, 'Unauthorized');
      assertApiError(await call(gw, 'POST', '/v1/logout', { token }), 401, 'Unauthorized');
      assert.equal((await call(gw, 'GET', '/v1/me', { token: other })).status, 200);
    });
  });

  describe('cluster-scoped tokens', () => {
    it('are refused with 403 everywhere except /v1/me and /v1/logout', async () => {
      const token = await login(gw, 'alice', 'alice-password', { clusterId: 'reach' });
      const refused: [string, string, unknown?][] = [
        ['GET', '/v1/tokens'],
        ['POST', '/v1/tokens', {}],
        ['DELETE', '/v1/tokens/t-aaaaaaaaaaaaaaaa'],
        ['GET', '/v1/clusters'],
        ['GET', '/v1/clusters/reach'],
        ['GET', '/v1/clusters/reach/members'],
        ['GET', '/v1/users'],
        ['GET', '/v1/settings'],
      ];
      for (const [method, path, body] of refused) {
        const res = await call(gw, method, path, { token, body });
        assertApiError(res, 403, 'Forbidden');
        assert.match(res.body.error.message, /cluster-scoped/, `${method} ${path}`);
      }
      const me = await call(gw, 'GET', '/v1/me', { token });
      assert.equal(me.status, 200);
      assert.equal(me.body.clusterId, 'reach');
      assert.equal((await call(gw, 'POST', '/v1/logout', { token })).status, 204);
      assertApiError(await call(gw, 'GET', '/v1/me', { token }), 401, 'Unauthorized');
    });

    it('cannot be turned into an unscoped token through POST /v1/tokens', async () => {
      const token = await login(gw, 'alice', 'alice-password', { clusterId: 'reach' });
      assertApiError(await call(gw, 'POST', '/v1/tokens', { token, body: { description: 'escape' } }), 403, 'Forbidden');
      const mine = await call(gw, 'GET', '/v1/tokens', { token: await login(gw, 'alice', 'alice-password') });
      assert.ok(!mine.body.items.some((t: { description: string }) => t.description === 'escape'), 'no unscoped token was made');
    });
  });

  describe('revocation takes effect at once', () => {
    it('a deleted token answers 401 on the next call, without waiting for the verdict cache', async () => {
      const session = await login(gw, 'alice', 'alice-password');
      const created = await call(gw, 'POST', '/v1/tokens', { token: session, body: { description: 'to delete' } });
      assert.equal(created.status, 201);
      assert.equal((await call(gw, 'GET', '/v1/me', { token: created.body.token })).status, 200); // now cached
      assert.equal((await call(gw, 'DELETE', `/v1/tokens/${created.body.tokenId}`, { token: session })).status, 204);
      assertApiError(await call(gw, 'GET', '/v1/me', { token: created.body.token }), 401, 'Unauthorized');
    });

    it("a disabled user's tokens answer 401 at once and are gone: re-enabling revives none, a new login works", async () => {
      const erinId = await createUser(gw, admin, { username: 'erin', password: 'erin-password' });
      const token = await login(gw, 'erin', 'erin-password');
      assert.equal((await call(gw, 'GET', '/v1/me', { token })).status, 200);
      const disabled = await call(gw, 'PATCH', `/v1/users/${erinId}`, { token: admin, body: { enabled: false } });
      assert.equal(disabled.status, 200);
      assertApiError(await call(gw, 'GET', '/v1/me', { token }), 401, 'Unauthorized');
      assertApiError(await call(gw, 'POST', '/v1/login', { body: { username: 'erin', password: 'erin-password' } }), 401, 'Unauthorized');
      assert.equal((await call(gw, 'PATCH', `/v1/users/${erinId}`, { token: admin, body: { enabled: true } })).status, 200);
      // Past the 2 s failure TTL: the old token is still refused, because disabling deleted it.
      now += 2_001;
      assertApiError(await call(gw, 'GET', '/v1/me', { token }), 401, 'Unauthorized');
      const fresh = await login(gw, 'erin', 'erin-password');
      assert.equal((await call(gw, 'GET', '/v1/me', { token: fresh })).status, 200);
    });

    it("a deleted user's tokens answer 401", async () => {
      const fredId = await createUser(gw, admin, { username: 'fred', password: 'fred-password' });
      const session = await login(gw, 'fred', 'fred-password');
      const api = await call(gw, 'POST', '/v1/tokens', { token: session, body: {} });
      assert.equal((await call(gw, 'GET', '/v1/me', { token: session })).status, 200);
      assert.equal((await call(gw, 'GET', '/v1/me', { token: api.body.token })).status, 200);
      assert.equal((await call(gw, 'DELETE', `/v1/users/${fredId}`, { token: admin })).status, 204);
      assertApiError(await call(gw, 'GET', '/v1/me', { token: session }), 401, 'Unauthorized');
      assertApiError(await call(gw, 'GET', '/v1/me', { token: api.body.token }), 401, 'Unauthorized');
    });

    // Moves the injected clock forward: keep last in this file.
    it('an expired token answers 401, even while its success verdict would still be cached', async () => {
      // Expires in 5 s: shorter than the 10 s success TTL, so the cache must stop at the expiry.
      const short = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password', ttlSeconds: 5 } });
      const long = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password', ttlSeconds: 3600 } });
      assert.equal((await call(gw, 'GET', '/v1/me', { token: short.body.token })).status, 200);
      assert.equal((await call(gw, 'GET', '/v1/me', { token: long.body.token })).status, 200);
      now += 4_000;
      assert.equal((await call(gw, 'GET', '/v1/me', { token: short.body.token })).status, 200);
      now += 2_000;
      assertApiError(await call(gw, 'GET', '/v1/me', { token: short.body.token }), 401, 'Unauthorized', 'token has expired');
      assert.equal((await call(gw, 'GET', '/v1/me', { token: long.body.token })).status, 200);
      now += 3600_000;
      assertApiError(await call(gw, 'GET', '/v1/me', { token: long.body.token }), 401, 'Unauthorized', 'token has expired');
    });
  });
});
