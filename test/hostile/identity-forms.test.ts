/**
 * Issue 14, "also": identity in forms the strip stage once missed. Underscore twins of identity
 * headers (`Impersonate_User`, `X_Remote_User`), `Forwarded`, and an `access_token` query
 * parameter never reach the cluster; the `base64url.bearer.authorization.k8s.io.` subprotocol
 * authenticates upgrades only, never a plain request. Asserted on what the cluster received.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { gatewayPort, rawExchange } from './raw-http.js';

describe('identity in other forms never reaches the cluster', () => {
  let world: ProxyWorld;
  let token: string;
  let port: number;
  const base = () => `/k8s/clusters/${world.clusterId}`;
  const send = (path: string, lines: string[]) =>
    rawExchange(port, world.gw.caPem!, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);

  before(async () => {
    world = await startProxyWorld();
    token = (await memberUser(world, { username: 'alice' })).token;
    port = gatewayPort(world.gw.url);
  });
  after(() => world.stop());

  it('strips underscore twins of identity headers and Forwarded', async () => {
    world.double.clearRequests();
    const smuggled = ['Impersonate_User: system:admin', 'IMPERSONATE_GROUP: system:masters', 'X_Remote_User: root', 'x_remote_group: system:masters', 'X_Forwarded_For: 10.0.0.1', 'Forwarded: for=10.0.0.1;by=evil', 'X_Custom_Thing: kept'];
    const answer = await send(`${base()}/api/v1/namespaces`, [`Authorization: Bearer ${token}`, ...smuggled]);
    assert.equal(answer.status, 200, answer.head);
    const seen = world.double.requests.at(-1)!;
    const names = seen.rawHeaders.map(([n]) => n.toLowerCase());
    for (const n of ['impersonate_user', 'impersonate_group', 'x_remote_user', 'x_remote_group', 'x_forwarded_for', 'forwarded']) assert.ok(!names.includes(n), `${n} reached the cluster`);
    assert.ok(names.includes('x_custom_thing'), 'ordinary underscore headers pass');
    assert.equal(seen.effective?.username, 'alice');
    assert.ok(!seen.effective?.groups.includes('system:masters'));
  });

  it('removes access_token query parameters, in any spelling, and keeps the rest of the query', async () => {
    for (const [query, kept] of [
      ['access_token=stolen&limit=5', '?limit=5'],
      ['limit=5&ACCESS_TOKEN=stolen&labelSelector=a%3Db', '?limit=5&labelSelector=a%3Db'],
      ['access%5Ftoken=stolen', ''],
      ['access_token', ''],
    ]) {
      world.double.clearRequests();
      const answer = await send(`${base()}/api/v1/namespaces?${query}`, [`Authorization: Bearer ${token}`]);
      assert.equal(answer.status, 200, answer.head);
      const path = world.double.requests.at(-1)!.path;
      assert.equal(path, `/api/v1/namespaces${kept}`);
      assert.doesNotMatch(path, /stolen/);
    }
  });

  it('headers named like Object members are ordinary headers over HTTP/2 from the client, and as impersonation extras', async () => {
    world.double.clearRequests();
    const session = http2Connect(world.gw.url, { ca: world.gw.caPem });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const headers = Object.assign(Object.create(null), { ':path': `${base()}/api/v1/namespaces`, authorization: `Bearer ${token}`, constructor: 'ctor-value', tostring: 'ts-value' });
        headers['__proto__'] = 'proto-value';
        const stream = session.request(headers);
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.on('error', reject);
        stream.resume();
        stream.end();
      });
      assert.equal(status, 200);
    } finally {
      session.close();
    }
    const seen = world.double.requests.at(-1)!;
    const value = (n: string) => seen.rawHeaders.filter(([name]) => name.toLowerCase() === n).map(([, v]) => v);
    assert.deepEqual(value('constructor'), ['ctor-value']);
    assert.deepEqual(value('tostring'), ['ts-value']);
    assert.deepEqual(value('__proto__'), ['proto-value']);

    for (const name of ['constructor', '__proto__', 'tostring']) {
      const answer = await send(`${base()}/api/v1/namespaces`, [`Authorization: Bearer ${token}`, 'Impersonate-User: alice', `Impersonate-Extra-${name}: x`]);
      assert.ok(answer.status < 500, `Impersonate-Extra-${name}: ${answer.head}`);
    }
    assert.equal((await send('/healthz', [])).status, 200);
  });

  it('ignores the bearer subprotocol on a plain request (401, nothing forwarded)', async () => {
    world.double.clearRequests();
    const protocol = `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`;
    const answer = await send(`${base()}/api/v1/namespaces`, [`Sec-WebSocket-Protocol: ${protocol}, v5.channel.k8s.io`]);
    assert.equal(answer.status, 401);
    assert.equal(world.double.requests.length, 0);
  });
});
