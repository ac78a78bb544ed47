/** `GET /v1/settings`, `PUT /v1/settings/{name}` (admin, docs/reference/tokens.md). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertApiError } from './fixtures.js';

const MINUTE = 60_000;
const DEFAULTS = {
  'kubeconfig-generate-token': true,
  'kubeconfig-default-token-ttl-minutes': 43_200,
  'auth-token-max-ttl-minutes': 129_600,
  'session-ttl-minutes': 960,
};

describe('settings API', () => {
  let gw: TestGateway;
  const now = Date.parse('2031-03-03T03:03:03Z');
  let admin: string;
  let plain: string;

  before(async () => {
    gw = await startTestGateway([], { clock: () => now });
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    await createUser(gw, admin, { username: 'plain', password: 'plain-password' });
    plain = await login(gw, 'plain', 'plain-password');
  });
  after(async () => {
    await gw.stop();
  });

  async function settings(): Promise<Record<string, unknown>> {
    const res = await call(gw, 'GET', '/v1/settings', { token: admin });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body), ['items']);
    return Object.fromEntries(res.body.items.map((s: { name: string; value: unknown }) => [s.name, s.value]));
  }

  const put = (name: string, value: unknown, token = admin) => call(gw, 'PUT', `/v1/settings/${name}`, { token, body: { value } });

  it('lists the four settings of docs/reference/tokens.md with their defaults', async () => {
    assert.deepEqual(await settings(), DEFAULTS);
  });

  it('stores valid values, as JSON or their string form, and answers {name,value}', async () => {
    const res = await put('session-ttl-minutes', 30);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { name: 'session-ttl-minutes', value: 30 });
    assert.deepEqual((await put('kubeconfig-default-token-ttl-minutes', '600')).body, { name: 'kubeconfig-default-token-ttl-minutes', value: 600 });
    assert.deepEqual((await put('kubeconfig-generate-token', false)).body, { name: 'kubeconfig-generate-token', value: false });
    assert.deepEqual((await put('kubeconfig-generate-token', 'true')).body, { name: 'kubeconfig-generate-token', value: true });
    assert.deepEqual(await settings(), { ...DEFAULTS, 'session-ttl-minutes': 30, 'kubeconfig-default-token-ttl-minutes': 600 });
    assert.equal((await put('session-ttl-minutes', 960)).status, 200);
    assert.equal((await put('kubeconfig-default-token-ttl-minutes', 43_200)).status, 200);
    assert.deepEqual(await settings(), DEFAULTS);
  });

  const invalid: [string, unknown][] = [
    ['session-ttl-minutes', 0],
    ['session-ttl-minutes', -5],
    ['session-ttl-minutes', 1.5],
    ['session-ttl-minutes', 'ten'],
    ['session-ttl-minutes', true],
    ['auth-token-max-ttl-minutes', 5_256_001],
    ['kubeconfig-default-token-ttl-minutes', '12abc'],
    ['kubeconfig-generate-token', 'yes'],
    ['kubeconfig-generate-token', 1],
  ];
  for (const [name, value] of invalid) {
    it(`refuses ${name} = ${JSON.stringify(value)} with 400 naming the value`, async () => {
      assertApiError(await put(name, value), 400, 'BadRequest', /^value: /);
    });
  }

  it('refuses bodies that are not {value}', async () => {
    assertApiError(await call(gw, 'PUT', '/v1/settings/session-ttl-minutes', { token: admin, body: {} }), 400, 'BadRequest', /^value: /);
    assertApiError(
      await call(gw, 'PUT', '/v1/settings/session-ttl-minutes', { token: admin, body: { value: 5, extra: 1 } }),
      400,
      'BadRequest',
      /unknown field "extra"/,
    );
    assertApiError(await call(gw, 'PUT', '/v1/settings/session-ttl-minutes', { token: admin, body: { value: null } }), 400, 'BadRequest', /^value: /);
    assert.deepEqual(await settings(), DEFAULTS);
  });

  it('answers 404 to an unknown setting', async () => {
    assertApiError(await put('no-such-setting', 5), 404, 'NotFound', /no-such-setting/);
    assertApiError(await put('toString', 5), 404, 'NotFound');
    assertApiError(await put('__proto__', 5), 404, 'NotFound');
    assert.deepEqual(await settings(), DEFAULTS);
  });

  it('answers 403 to a non-admin, 401 without a token', async () => {
    assertApiError(await call(gw, 'GET', '/v1/settings', { token: plain }), 403, 'Forbidden');
    assertApiError(await put('session-ttl-minutes', 1, plain), 403, 'Forbidden');
    assertApiError(await put('no-such-setting', 1, plain), 403, 'Forbidden');
    assertApiError(await call(gw, 'GET', '/v1/settings'), 401, 'Unauthorized');
    assertApiError(await call(gw, 'PUT', '/v1/settings/session-ttl-minutes', { body: { value: 1 } }), 401, 'Unauthorized');
    assert.deepEqual(await settings(), DEFAULTS);
  });

  it('auth-token-max-ttl-minutes caps new API tokens and sessions at once', async () => {
    const create = async (ttlSeconds?: number) => {
      const res = await call(gw, 'POST', '/v1/tokens', { token: plain, body: ttlSeconds === undefined ? {} : { ttlSeconds } });
      assert.equal(res.status, 201, res.text);
      return res.body.expiresAt as string;
    };
    assert.equal(await create(7200), new Date(now + 7200_000).toISOString());
    assert.equal((await put('auth-token-max-ttl-minutes', 60)).status, 200);
    try {
      assert.equal(await create(7200), new Date(now + 60 * MINUTE).toISOString());
      assert.equal(await create(), new Date(now + 60 * MINUTE).toISOString());
      const session = await call(gw, 'POST', '/v1/login', { body: { username: 'plain', password: 'plain-password' } });
      assert.equal(session.body.expiresAt, new Date(now + 60 * MINUTE).toISOString());
    } finally {
      assert.equal((await put('auth-token-max-ttl-minutes', 129_600)).status, 200);
    }
    assert.equal(await create(7200), new Date(now + 7200_000).toISOString());
  });

  it('session-ttl-minutes sets the lifetime of new logins', async () => {
    assert.equal((await put('session-ttl-minutes', 15)).status, 200);
    try {
      const session = await call(gw, 'POST', '/v1/login', { body: { username: 'plain', password: 'plain-password' } });
      assert.equal(session.body.expiresAt, new Date(now + 15 * MINUTE).toISOString());
    } finally {
      assert.equal((await put('session-ttl-minutes', 960)).status, 200);
    }
  });

  it('stores the canonical string form in the store', async () => {
    assert.equal((await put('kubeconfig-generate-token', false)).status, 200);
    const stored = await gw.store.getSettings();
    assert.equal(stored['kubeconfig-generate-token'], 'false');
    assert.equal((await put('kubeconfig-generate-token', true)).status, 200);
  });
});
