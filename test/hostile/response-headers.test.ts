/**
 * Issue 14, "also": `/metrics` needs a credential by default (an administrator's token or the
 * metrics token), `--metrics-open` opts out; answers carry `Strict-Transport-Security` over TLS,
 * and every `/v1` answer `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('metrics and response headers', () => {
  let gw: TestGateway;
  let admin: string;
  let user: string;
  before(async () => {
    gw = await startTestGateway();
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
    user = await login(gw, 'alice', 'alice-password');
  });
  after(() => gw.stop());

  it('/metrics: 401 without a credential or with a bad one, 403 for a user, 200 for an admin', async () => {
    assert.equal((await call(gw, 'GET', '/metrics')).status, 401);
    assert.equal((await call(gw, 'GET', '/metrics', { token: 'kgt_t-aaaaaaaaaaaaaaaa.bad' })).status, 401);
    const refused = await call(gw, 'GET', '/metrics', { token: user });
    assert.equal(refused.status, 403);
    assert.ok(!refused.text.includes('kubegate_'), 'no metric leaks in a refusal');
    const ok = await call(gw, 'GET', '/metrics', { token: admin });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /kubegate_logins_total/);
  });

  it('/metrics with --metrics-open needs nothing', async () => {
    const open = await startTestGateway(['--metrics-open']);
    try {
      const r = await call(open, 'GET', '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.text, /kubegate_/);
    } finally {
      await open.stop();
    }
  });

  it('every /v1 answer is nosniff and no-store, and every answer over TLS carries HSTS', async () => {
    const answers = await Promise.all([
      call(gw, 'GET', '/v1/me', { token: user }),
      call(gw, 'GET', '/v1/me'),
      call(gw, 'GET', '/v1/nothing-here', { token: user }),
      call(gw, 'GET', '/v1/users', { token: admin }),
      call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } }),
    ]);
    for (const r of answers) {
      assert.equal(r.headers['x-content-type-options'], 'nosniff', String(r.status));
      assert.equal(r.headers['cache-control'], 'no-store', String(r.status));
      assert.match(String(r.headers['strict-transport-security']), /max-age=\d{7,}/);
    }
    for (const path of ['/', '/healthz', '/ui/app.css']) assert.match(String((await call(gw, 'GET', path)).headers['strict-transport-security']), /max-age=/, path);
  });

  it('no HSTS over plain HTTP (a balancer terminates TLS and sets its own)', async () => {
    const plain = await startTestGateway(['--plain-http']);
    try {
      const res = await fetch(`${plain.url}/healthz`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('strict-transport-security'), null);
    } finally {
      await plain.stop();
    }
  });
});
