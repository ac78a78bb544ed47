/** Hostile bytes on the wire: smuggling, obs-fold, slow clients, idle connection floods (issue 7). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { gatewayPort, rawExchange } from './raw-http.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hostile requests on the wire', () => {
  let world: ProxyWorld;
  let token: string;
  let port: number;
  const base = () => `/k8s/clusters/${world.clusterId}`;

  before(async () => {
    world = await startProxyWorld({ flags: ['--header-timeout', '1s', '--body-timeout', '1s'] });
    token = (await memberUser(world, { username: 'alice' })).token;
    port = gatewayPort(world.gw.url);
  });
  after(() => world.stop());

  const send = (bytes: string) => rawExchange(port, world.gw.caPem!, bytes);

  it('refuses Transfer-Encoding together with Content-Length (request smuggling) before the cluster sees it', async () => {
    world.double.clearRequests();
    const smuggled = 'GET /api HTTP/1.1\r\nHost: x\r\nImpersonate-User: admin\r\n\r\n';
    const a = await send(
      `POST ${base()}/api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
        `Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    );
    assert.equal(a.status, 400);
    assert.equal(world.double.requests.length, 0);
  });

  it('refuses duplicate, differing Content-Length lines', async () => {
    const a = await send(`POST ${base()}/api HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`);
    assert.equal(a.status, 400);
  });

  it('refuses obs-fold continuation lines, which could hide an Impersonate header', async () => {
    world.double.clearRequests();
    const a = await send(`GET ${base()}/api HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nX-Innocent: a\r\n Impersonate-User: admin\r\n\r\n`);
    assert.equal(a.status, 400);
    assert.equal(world.double.requests.length, 0);
  });

  it('refuses header names with spaces or control characters', async () => {
    for (const line of ['Impersonate-User : admin', 'Impersonate-User\t: admin', 'Imper\x00sonate-User: admin']) {
      const a = await send(`GET ${base()}/api HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n${line}\r\n\r\n`);
      assert.equal(a.status, 400, JSON.stringify(line));
    }
  });

  it('answers malformed and oversized JSON on the API with clear 400/413 errors', async () => {
    const bad = await call(world.gw, 'POST', '/v1/tokens', { token, rawBody: '{"description": ' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.message, 'body: malformed JSON');
    const huge = await call(world.gw, 'POST', '/v1/tokens', { token, rawBody: JSON.stringify({ description: 'x'.repeat(200_000) }) });
    assert.equal(huge.status, 413);
    const deep = await call(world.gw, 'POST', '/v1/tokens', { token, rawBody: '['.repeat(5_000) + ']'.repeat(5_000) });
    assert.equal(deep.status, 400);
  });

  it('drops a client that trickles its headers (slowloris)', async () => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca: world.gw.caPem, servername: 'localhost' });
    await new Promise((r) => socket.once('secureConnect', r));
    socket.resume();
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    let closedAt = 0;
    const started = Date.now();
    const closed = new Promise<void>((resolve) => socket.once('close', () => ((closedAt = Date.now()), resolve())));
    socket.on('error', () => {});
    const drip = setInterval(() => socket.writable && socket.write('X-Drip: 1\r\n'), 200);
    await Promise.race([closed, wait(6_000)]);
    clearInterval(drip);
    assert.ok(closedAt > 0, 'the gateway closed the connection');
    assert.ok(closedAt - started < 6_000);
  });

  it('drops a client that trickles a management API body', async () => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca: world.gw.caPem, servername: 'localhost' });
    await new Promise((r) => socket.once('secureConnect', r));
    socket.on('error', () => {});
    socket.resume();
    socket.write(`POST /v1/tokens HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
    assert.equal(await Promise.race([closed, wait(5_000).then(() => false)]), true);
  });

  it('keeps serving with 300 idle connections open', async () => {
    const sockets: TLSSocket[] = [];
    try {
      for (let i = 0; i < 300; i++) {
        const s = connect({ host: '127.0.0.1', port, ca: world.gw.caPem, servername: 'localhost' });
        s.on('error', () => {});
        sockets.push(s);
      }
      await wait(300);
      const r = await call(world.gw, 'GET', `${base()}/api`, { token });
      assert.equal(r.status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('is still healthy after all of the above', async () => {
    assert.equal((await call(world.gw, 'GET', '/healthz')).status, 200);
  });
});
