/**
 * Issue 14, finding 6 (and the h2c item): a refused upgrade that declares a body must not
 * desynchronise an upstream connection. The gateway refuses an upgrade with a body (400) and any
 * upgrade token but websocket and SPDY/3.1, before anything reaches the cluster; and each upgrade
 * has an upstream connection of its own, never reused, even when the upstream answers before
 * reading a body.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type TLSSocket } from 'node:tls';
import { createCertificateAuthority } from '../kube-double/index.js';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { gatewayPort, rawExchange } from './raw-http.js';

/** An upstream that answers every request head at once with 403 (reading no body) and records the heads per connection. */
async function startEagerUpstream(cert: { certPem: string; keyPem: string }) {
  const connections: string[][] = [];
  const sockets: TLSSocket[] = [];
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (socket) => {
    sockets.push(socket);
    const heads: string[] = [];
    connections.push(heads);
    let buf = '';
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        heads.push(buf.slice(0, end));
        buf = buf.slice(end + 4);
        const body = '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}';
        socket.write(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const WS = ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: v5.channel.k8s.io'];

describe('upgrades cannot desynchronise an upstream connection', () => {
  let world: ProxyWorld;
  let alice: string;
  let bob: string;
  let port: number;
  let eager: Awaited<ReturnType<typeof startEagerUpstream>>;
  const exec = (cluster: string) => `/k8s/clusters/${cluster}/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true`;
  const upgrade = (cluster: string, token: string, lines: string[], body = '') =>
    rawExchange(port, world.gw.caPem!, `GET ${exec(cluster)} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n${body}`);

  before(async () => {
    world = await startProxyWorld();
    alice = (await memberUser(world, { username: 'alice' })).token;
    bob = (await memberUser(world, { username: 'bob' })).token;
    port = gatewayPort(world.gw.url);
    const ca = await createCertificateAuthority();
    eager = await startEagerUpstream(ca.serving);
    const res = await call(world.gw, 'POST', '/v1/clusters', {
      token: world.adminToken,
      body: { id: 'eager', server: eager.url, caData: Buffer.from(ca.caPem).toString('base64'), credential: { token: 'eager-token' } },
    });
    assert.equal(res.status, 201, res.text);
    for (const u of ['alice', 'bob']) {
      const m = await call(world.gw, 'PUT', '/v1/clusters/eager/members', { token: world.adminToken, body: { principal: `user:${u}`, role: 'member' } });
      assert.equal(m.status, 200);
    }
  });
  after(async () => {
    await world.stop();
    await eager.close();
  });

  it('refuses an upgrade that declares a body (Content-Length or chunked) with 400, and the cluster sees nothing', async () => {
    const smuggled = `GET /api/v1/secrets HTTP/1.1\r\nHost: x\r\nImpersonate-User: system:admin\r\n\r\n`;
    for (const [lines, body] of [
      [[...WS, `Content-Length: ${smuggled.length}`], smuggled],
      [[...WS, 'Transfer-Encoding: chunked'], `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`],
    ] as Array<[string[], string]>) {
      world.double.clearRequests();
      const eagerBefore = eager.connections.length;
      for (const cluster of [world.clusterId, 'eager']) {
        const answer = await upgrade(cluster, alice, lines, body);
        assert.equal(answer.status, 400, answer.head);
        assert.match(JSON.parse(answer.body).message, /must not carry a body/);
        assert.match(answer.head, /connection: close/i);
      }
      assert.equal(world.double.requests.length, 0);
      assert.equal(eager.connections.length, eagerBefore);
    }
  });

  it('relays only websocket and SPDY/3.1: h2c and other upgrade tokens get 400 and reach nothing', async () => {
    world.double.clearRequests();
    for (const token of ['h2c', 'websocket, h2c', 'h2', 'TLS/1.0', 'SPDY/3']) {
      const answer = await upgrade(world.clusterId, alice, ['Connection: Upgrade, HTTP2-Settings', `Upgrade: ${token}`, 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']);
      assert.equal(answer.status, 400, `Upgrade: ${token}: ${answer.head}`);
    }
    assert.equal(world.double.requests.length, 0);
    // The two kinds kubectl uses still reach the cluster.
    for (const lines of [WS, ['Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: v4.channel.k8s.io']]) {
      const answer = await upgrade(world.clusterId, alice, lines);
      assert.equal(answer.status, 101, answer.head);
    }
  });

  it('gives every upgrade an upstream connection of its own: a refused one is never reused for the next user', async () => {
    eager.connections.length = 0;
    for (const token of [alice, bob, alice]) {
      const answer = await upgrade('eager', token, WS);
      assert.equal(answer.status, 403);
    }
    assert.equal(eager.connections.length, 3, 'three upgrades, three upstream connections');
    const users = eager.connections.map((heads) => {
      assert.equal(heads.length, 1, 'one request per upstream connection');
      return /\r\nImpersonate-User: (\S+)/.exec(heads[0]!)?.[1];
    });
    assert.deepEqual(users, ['alice', 'bob', 'alice']);
  });
});
