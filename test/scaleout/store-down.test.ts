/**
 * docs/reference/api.md with PostgreSQL stopped under a running gateway: cached verdicts keep working until
 * they expire, everything else is 503 (never 401), `/readyz` is 503, and recovery needs no restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { listPods, pollUntil } from './support.js';

const CACHE_TTL_MS = 2_000;

describe('gateway on PostgreSQL while the database is down', () => {
  let pg: TestPostgres;
  let world: ProxyWorld;

  before(async () => {
    pg = await startTestPostgres();
    const url = await pg.createDatabase();
    world = await startProxyWorld({ flags: ['--database-url', url, '--auth-cache-ttl', `${CACHE_TTL_MS}ms`] });
  });
  after(async () => {
    await world?.stop();
    await pg?.destroy();
  });

  it('serves cached verdicts until they expire, answers 503 otherwise, and recovers by itself', async () => {
    const { gw, clusterId } = world;
    const cached = await memberUser(world, { username: 'alice' });
    const uncached = await memberUser(world, { username: 'bob' });
    assert.equal((await listPods(gw, clusterId, cached.token)).status, 200);
    const cachedAt = Date.now();

    await pg.stop();
    try {
      // Inside the TTL: the verdict cached before the outage still lets alice through.
      const during = await listPods(gw, clusterId, cached.token);
      assert.ok(Date.now() - cachedAt < CACHE_TTL_MS, 'the check ran inside the cache TTL');
      assert.equal(during.status, 200, during.text);

      // No cached verdict: 503 Status on /k8s, 503 API error on /v1, never 401.
      const proxied = await listPods(gw, clusterId, uncached.token);
      assert.equal(proxied.status, 503, proxied.text);
      assert.deepEqual(
        { kind: proxied.body.kind, status: proxied.body.status, reason: proxied.body.reason, code: proxied.body.code },
        { kind: 'Status', status: 'Failure', reason: 'ServiceUnavailable', code: 503 },
      );
      const api = await call(gw, 'GET', '/v1/me', { token: uncached.token });
      assert.equal(api.status, 503, api.text);
      assert.equal(api.body.error.reason, 'ServiceUnavailable');
      assert.equal((await call(gw, 'GET', '/readyz')).status, 503);
      assert.equal((await call(gw, 'GET', '/healthz')).status, 200);

      // Past the TTL alice's verdict is gone too: 503, still not 401.
      const expired = await pollUntil(() => listPods(gw, clusterId, cached.token), (r) => r.status !== 200, { timeoutMs: CACHE_TTL_MS + 1_000 });
      assert.ok(expired.ok, `alice still served ${expired.elapsedMs} ms after the TTL`);
      assert.equal(expired.value.status, 503, expired.value.text);
      assert.equal(expired.value.body.reason, 'ServiceUnavailable');
    } finally {
      await pg.start();
    }

    const ready = await pollUntil(() => call(gw, 'GET', '/readyz'), (r) => r.status === 200, { timeoutMs: 10_000, everyMs: 100 });
    assert.ok(ready.ok, 'readyz recovers once PostgreSQL is back');
    assert.equal((await listPods(gw, clusterId, cached.token)).status, 200);
    assert.equal((await listPods(gw, clusterId, uncached.token)).status, 200);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: uncached.token })).body.username, 'bob');
    // Writes work again too, and a revoked token is refused as before.
    assert.equal((await call(gw, 'DELETE', `/v1/tokens/${uncached.tokenId}`, { token: uncached.token })).status, 204);
    assert.equal((await listPods(gw, clusterId, uncached.token)).status, 401);
  });
});
