/**
 * Security properties of the proxy (docs/reference/api.md, tokens.md): no client credential or impersonation header
 * ever reaches a cluster; revoked, expired and disabled identities fail; probing learns nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { rawExchange } from '../hostile/raw-http.js';

interface Raw {
  status: number;
  body: any;
  headers: Record<string, unknown>;
}

/** A request with raw header lines (case and duplicates preserved). */
function rawRequest(world: ProxyWorld, path: string, headers: string[], method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    // Array headers replace Node's defaults, so Host goes in by hand.
    const lines = ['Host', 'localhost', ...headers];
    const req = request(new URL(path, world.gw.url), { method, headers: lines as unknown as Record<string, string>, agent: world.gw.agent }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('proxy security', () => {
  let world: ProxyWorld;
  let now = Date.now();
  let alice: Awaited<ReturnType<typeof memberUser>>;
  const base = () => `/k8s/clusters/${world.clusterId}`;

  before(async () => {
    world = await startProxyWorld({ clock: () => now });
    alice = await memberUser(world, { username: 'alice', groups: ['dev'] });
  });
  after(() => world.stop());

  const spoofs: [string, string[]][] = [
    ['Impersonate-User', ['Impersonate-User', 'admin']],
    ['lower-case impersonate-user', ['impersonate-user', 'admin']],
    ['odd case group', ['IMPERSONATE-group', 'system:masters']],
    ['Impersonate-Uid alone', ['Impersonate-Uid', 'u-admin']],
    ['Impersonate-Extra-*', ['Impersonate-Extra-scopes', 'all']],
    ['duplicate Impersonate-User lines', ['Impersonate-User', 'alice', 'Impersonate-User', 'admin']],
    ['Connection-listed impersonation', ['Connection', 'Impersonate-User', 'Impersonate-User', 'admin']],
  ];
  for (const [name, extra] of spoofs) {
    it(`refuses client impersonation the cluster does not allow (${name}); only alice's own access reviews reach it`, async () => {
      world.double.clearRequests();
      const r = await rawRequest(world, `${base()}/api/v1/namespaces`, ['Authorization', `Bearer ${alice.token}`, ...extra]);
      // Groups, a uid or extras without a user are 400 before anything is sent.
      const withoutUser = !extra.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'impersonate-user');
      assert.equal(r.status, withoutUser ? 400 : 403, JSON.stringify(r.body));
      if (withoutUser) assert.equal(world.double.requests.length, 0);
      assert.equal(r.body.kind, 'Status');
      for (const seen of world.double.requests) {
        assert.equal(seen.path, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
        assert.equal(seen.effective?.username, 'alice');
      }
    });
  }

  it('strips X-Remote-*, X-Forwarded-* and Connection-listed headers; sends only the gateway identity', async () => {
    world.double.clearRequests();
    const r = await rawRequest(world, `${base()}/api/v1/namespaces`, [
      'Authorization', `Bearer ${alice.token}`,
      'X-Remote-User', 'admin',
      'x-remote-group', 'system:masters',
      'X-Forwarded-For', '6.6.6.6',
      'Connection', 'X-Hop-Secret',
      'X-Hop-Secret', 'x',
    ]);
    assert.equal(r.status, 200);
    const seen = world.double.requests[0]!;
    const names = seen.rawHeaders.map(([n]) => n.toLowerCase());
    for (const n of ['x-remote-user', 'x-remote-group', 'x-forwarded-for', 'x-hop-secret']) assert.ok(!names.includes(n), `${n} reached the cluster`);
    assert.deepEqual(seen.headersDistinct['authorization'], [`Bearer ${world.double.gatewayToken}`]);
    assert.deepEqual(seen.headersDistinct['impersonate-user'], ['alice']);
    assert.deepEqual(seen.headersDistinct['impersonate-group'], ['dev', 'kubegate:role:member', 'kubegate:authenticated']);
    assert.deepEqual(seen.headersDistinct['impersonate-uid'], [alice.id]);
    assert.deepEqual(seen.effective?.extra, { 'kubegate.io/token-id': [alice.tokenId] });
  });

  it('refuses two Authorization lines with 400', async () => {
    const r = await rawRequest(world, `${base()}/api`, ['Authorization', `Bearer ${alice.token}`, 'authorization', `Bearer ${alice.token}`]);
    assert.equal(r.status, 400);
    assert.equal(r.body.kind, 'Status');
  });

  it('answers a missing or invalid token with 401 Status', async () => {
    for (const headers of [[], ['Authorization', 'Bearer kgt_t-aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'], ['Authorization', 'Basic YTpi']]) {
      const r = await rawRequest(world, `${base()}/api`, headers);
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
  });

  it('gives unknown and forbidden clusters the identical 403', async () => {
    const bob = await memberUser(world, { username: 'bob' }, 'none');
    const forbidden = await rawRequest(world, `${base()}/api`, ['Authorization', `Bearer ${bob.token}`]);
    const unknown = await rawRequest(world, '/k8s/clusters/nope/api', ['Authorization', `Bearer ${bob.token}`]);
    assert.equal(forbidden.status, 403);
    assert.equal(unknown.status, 403);
    assert.equal(
      forbidden.body.message.replace(world.clusterId, 'X'),
      unknown.body.message.replace('nope', 'X'),
    );
  });

  it('refuses a token scoped to another cluster', async () => {
    await call(world.gw, 'POST', '/v1/clusters', {
      token: world.adminToken,
      body: { id: 'other', server: world.double.url, caData: Buffer.from(world.double.caPem).toString('base64'), credential: { token: world.double.gatewayToken } },
    });
    await call(world.gw, 'PUT', '/v1/clusters/other/members', { token: world.adminToken, body: { principal: 'user:alice', role: 'member' } });
    const scoped = await call(world.gw, 'POST', '/v1/tokens', { token: alice.token, body: { clusterId: 'other' } });
    assert.equal(scoped.status, 201);
    const r = await rawRequest(world, `${base()}/api`, ['Authorization', `Bearer ${scoped.body.token}`]);
    assert.equal(r.status, 403);
    const own = await rawRequest(world, '/k8s/clusters/other/api', ['Authorization', `Bearer ${scoped.body.token}`]);
    assert.equal(own.status, 200);
  });

  it('refuses a revoked token at once, although its verdict was cached', async () => {
    const t = await call(world.gw, 'POST', '/v1/tokens', { token: alice.token, body: { description: 'to revoke' } });
    const auth = ['Authorization', `Bearer ${t.body.token}`];
    assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 200);
    assert.equal(world.gw.cache.size() > 0, true);
    const del = await call(world.gw, 'DELETE', `/v1/tokens/${t.body.tokenId}`, { token: alice.token });
    assert.equal(del.status, 204);
    assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 401);
  });

  it('refuses an expired token', async () => {
    const t = await call(world.gw, 'POST', '/v1/tokens', { token: alice.token, body: { ttlSeconds: 60 } });
    const auth = ['Authorization', `Bearer ${t.body.token}`];
    assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 200);
    now += 61_000;
    try {
      assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 401);
    } finally {
      now -= 61_000;
    }
  });

  it('refuses a disabled user at once, and a removed member; lets a restored member in at once, a re-enabled user only with a new token', async () => {
    const carol = await memberUser(world, { username: 'carol' });
    const auth = ['Authorization', `Bearer ${carol.token}`];
    assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 200);
    await call(world.gw, 'DELETE', `/v1/clusters/${world.clusterId}/members/user:carol`, { token: world.adminToken });
    assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 403);
    await call(world.gw, 'PUT', `/v1/clusters/${world.clusterId}/members`, { token: world.adminToken, body: { principal: 'user:carol', role: 'member' } });
    assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 200);
    await call(world.gw, 'PATCH', `/v1/users/${carol.id}`, { token: world.adminToken, body: { enabled: false } });
    assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 401);
    // Enabled again: disabling deleted the old token; a new login is not held back by the cached refusal (failure TTL).
    await call(world.gw, 'PATCH', `/v1/users/${carol.id}`, { token: world.adminToken, body: { enabled: true } });
    assert.equal((await rawRequest(world, `${base()}/api`, auth)).status, 401);
    const again = await call(world.gw, 'POST', '/v1/login', { body: { username: 'carol', password: carol.password } });
    assert.equal((await rawRequest(world, `${base()}/api`, ['Authorization', `Bearer ${again.body.token}`])).status, 200);
  });

  it('refuses encoded slashes and dot segments in the path', async () => {
    for (const path of ['/k8s/clusters/double%2F..%2Fother/api', `${base()}/../other/api`, `${base()}/api/%2e%2e/x`]) {
      const r = await new Promise<number>((resolve, reject) => {
        // Raw TLS: an HTTP client would normalise the dot segments away.
        const s = connect({ host: '127.0.0.1', port: Number(new URL(world.gw.url).port), ca: world.gw.caPem, servername: 'localhost' }, () => {
          s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\nConnection: close\r\n\r\n`);
        });
        let text = '';
        s.on('data', (c) => (text += c));
        s.on('end', () => resolve(Number(/^HTTP\/1.1 (\d+)/.exec(text)?.[1])));
        s.on('error', reject);
      });
      assert.equal(r, 400, path);
    }
  });

  it('accepts 60 KiB of headers and refuses more than 64 KiB with 431', async () => {
    const big = 'x'.repeat(60 * 1024);
    const ok = await rawRequest(world, `${base()}/api`, ['Authorization', `Bearer ${alice.token}`, 'X-Big', big]);
    assert.equal(ok.status, 200);
    // Raw bytes: the gateway answers before the block ends and closes, which a Node client may report as a reset instead.
    const tooBig = await rawExchange(Number(new URL(world.gw.url).port), world.gw.caPem!, `GET ${base()}/api HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice.token}\r\nX-Big: ${big}${'y'.repeat(8 * 1024)}\r\n\r\n`);
    assert.equal(tooBig.status, 431);
    assert.equal(JSON.parse(tooBig.body).reason, 'RequestHeaderFieldsTooLarge');
  });

  it('answers 503 Status when the cluster is unreachable', async () => {
    await call(world.gw, 'POST', '/v1/clusters', {
      token: world.adminToken,
      body: { id: 'down', server: 'https://127.0.0.1:1', credential: { token: 'x' } },
    });
    const r = await rawRequest(world, '/k8s/clusters/down/api', ['Authorization', `Bearer ${world.adminToken}`]);
    assert.equal(r.status, 503);
    assert.equal(r.body.reason, 'ServiceUnavailable');
  });

  it('never let a client token or client impersonation header reach the cluster in this whole suite', () => {
    for (const r of world.double.requests) {
      const text = JSON.stringify(r.rawHeaders);
      assert.ok(!text.includes('kgt_'), `a kubegate token reached the cluster on ${r.path}`);
      assert.equal(r.authenticatedAs?.username, 'system:serviceaccount:kubegate:kubegate-impersonator');
      assert.ok(!['admin', 'system:admin'].includes(r.effective?.username ?? ''));
    }
  });
});
