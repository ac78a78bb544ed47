/** Failed-login and invalid-token throttling (issue 7): backoff with Retry-After, never a permanent lock. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { FailureThrottle } from '../../src/auth/failure-throttle.js';
import { GatewayError } from '../../src/errors.js';

describe('FailureThrottle', () => {
  it('locks after the free failures, doubling, capped, and forgets after a quiet period', () => {
    let now = 1_000_000; // lru-cache treats a start time of 0 as "no TTL"
    const t = new FailureThrottle({ freeFailures: 2, baseLockMs: 1_000, maxLockMs: 4_000, forgetAfterMs: 60_000, clock: () => now });
    const retryAfter = () => {
      try {
        t.check('k', 'tries');
        return 0;
      } catch (e) {
        assert.equal((e as GatewayError).code, 429);
        return Number((e as GatewayError).headers!['Retry-After']);
      }
    };
    t.failed('k');
    t.failed('k');
    assert.equal(retryAfter(), 0);
    t.failed('k');
    assert.equal(retryAfter(), 1);
    t.failed('k');
    assert.equal(retryAfter(), 2);
    for (let i = 0; i < 10; i++) t.failed('k');
    assert.equal(retryAfter(), 4, 'capped');
    now += 4_001;
    assert.equal(retryAfter(), 0, 'a lock always ends');
    now += 60_001;
    t.failed('k');
    assert.equal(retryAfter(), 0, 'old failures were forgotten');
  });
});

describe('login throttling', () => {
  let gw: TestGateway;
  let now = Date.now();
  let admin: string;
  before(async () => {
    gw = await startTestGateway([], { clock: () => now });
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
  });
  after(() => gw.stop());

  it('answers 429 with Retry-After after repeated failures for a user, even with the right password, then recovers', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'wrong-password' } });
      assert.equal(r.status, 401);
    }
    const sixth = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'wrong-password' } });
    assert.equal(sixth.status, 401);
    const locked = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.reason, 'TooManyRequests');
    assert.ok(Number(locked.headers['retry-after']) >= 1);
    now += 2_000;
    const ok = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } });
    assert.equal(ok.status, 201);
  });

  it('throttles repeated invalid bearer tokens per address on /k8s/...', async () => {
    let last = 0;
    for (let i = 0; i < 52; i++) {
      const r = await call(gw, 'GET', '/k8s/clusters/any/api', { token: `kgt_t-aaaaaaaaaaaaaaaa.${String(i).padStart(43, 'x')}` });
      last = r.status;
      if (r.status === 429) {
        assert.equal(r.body.kind, 'Status');
        assert.ok(r.headers['retry-after']);
        break;
      }
      assert.equal(r.status, 401);
    }
    assert.equal(last, 429);
  });
});
