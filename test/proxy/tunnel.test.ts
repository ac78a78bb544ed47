/** Upgrades through the gateway: WebSocket exec, SPDY bytes both ways, refusals, vanishing clients. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { call } from '../support/gateway.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await wait(25);
  }
}

/** Opens a raw TLS connection to the gateway and sends an upgrade request; resolves with the head of the answer. */
function rawUpgrade(world: ProxyWorld, path: string, lines: string[]): Promise<{ socket: TLSSocket; head: string; rest: Buffer<ArrayBufferLike> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(world.gw.url).port), ca: world.gw.caPem, servername: 'localhost' }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`);
    });
    let buf: Buffer<ArrayBufferLike> = Buffer.alloc(0);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end !== -1) {
        socket.off('data', onData);
        resolve({ socket, head: buf.subarray(0, end).toString(), rest: buf.subarray(end + 4) });
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

function readBytes(socket: TLSSocket, n: number, initial: Buffer<ArrayBufferLike> = Buffer.alloc(0)): Promise<Buffer<ArrayBufferLike>> {
  return new Promise((resolve) => {
    let buf = initial;
    if (buf.length >= n) return resolve(buf);
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= n) {
        socket.off('data', onData);
        resolve(buf);
      }
    };
    socket.on('data', onData);
  });
}

describe('upgrade tunnel', () => {
  let world: ProxyWorld;
  let alice: Awaited<ReturnType<typeof memberUser>>;
  const base = () => `/k8s/clusters/${world.clusterId}`;

  before(async () => {
    world = await startProxyWorld();
    alice = await memberUser(world, { username: 'alice' });
  });
  after(() => world.stop());

  it('execs over WebSocket with the bearer subprotocol, which never reaches the cluster', async () => {
    world.double.clearRequests();
    const bearer = `base64url.bearer.authorization.k8s.io.${Buffer.from(alice.token).toString('base64url')}`;
    const url = `${world.gw.url.replace('https', 'wss')}${base()}/api/v1/namespaces/default/pods/web-0/exec?command=echo&command=hello&command=ws&stdout=true`;
    const ws = new WebSocket(url, ['v5.channel.k8s.io', bearer], { ca: world.gw.caPem });
    let stdout = '';
    const closed = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        if (data[0] === 1) stdout += data.subarray(1).toString();
      });
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    await closed;
    assert.equal(ws.protocol, 'v5.channel.k8s.io');
    assert.equal(stdout, 'hello ws\n');
    const seen = world.double.requests.find((r) => r.path.includes('/exec'))!;
    assert.ok(seen.upgrade);
    assert.equal(seen.effective?.username, 'alice');
    assert.deepEqual(seen.headersDistinct['sec-websocket-protocol'], ['v5.channel.k8s.io']);
    assert.ok(!JSON.stringify(seen.rawHeaders).includes(alice.token));
  });

  it('relays SPDY upgrade bytes both ways and keeps every X-Stream-Protocol-Version line', async () => {
    world.double.clearRequests();
    // The double's byte echo (a pod's portforward is framed SPDY there: test/clients/port-forward.test.ts).
    const { socket, head, rest } = await rawUpgrade(world, `${base()}/spdy-echo`, [
      `Authorization: Bearer ${alice.token}`,
      'Connection: Upgrade',
      'Upgrade: SPDY/3.1',
      'X-Stream-Protocol-Version: portforward.k8s.io',
      'X-Stream-Protocol-Version: v2.portforward.k8s.io',
    ]);
    assert.match(head, /^HTTP\/1.1 101 /);
    assert.match(head, /X-Stream-Protocol-Version: portforward.k8s.io/i);
    const payload = Buffer.from([0x80, 0x03, 0x00, 0x01, 0xff, 0x00, 0x42, 0x0d, 0x0a]);
    socket.write(payload);
    const echoed = await readBytes(socket, payload.length, rest);
    assert.deepEqual(echoed.subarray(0, payload.length), payload);
    const seen = world.double.requests.find((r) => r.upgrade)!;
    assert.deepEqual(seen.streamProtocolVersions, ['portforward.k8s.io', 'v2.portforward.k8s.io']);
    socket.destroy();
  });

  it('closes the upstream side when the client vanishes mid-stream', async () => {
    await until(() => world.double.activeStreams() === 0);
    const before = 0;
    const { socket, head } = await rawUpgrade(world, `${base()}/spdy-echo`, [`Authorization: Bearer ${alice.token}`, 'Connection: Upgrade', 'Upgrade: SPDY/3.1']);
    assert.match(head, /^HTTP\/1.1 101 /);
    await until(() => world.double.activeStreams() === before + 1);
    socket.destroy();
    await until(() => world.double.activeStreams() === before);
  });

  it('closes the upstream watch when the client goes away', async () => {
    await until(() => world.double.activeStreams() === 0);
    const before = 0;
    const { socket, head } = await rawUpgrade(world, `${base()}/api/v1/namespaces/default/configmaps?watch=true`, [`Authorization: Bearer ${alice.token}`]);
    assert.match(head, /^HTTP\/1.1 200 /, 'watch headers arrive before any event');
    await until(() => world.double.activeStreams() === before + 1);
    socket.destroy();
    await until(() => world.double.activeStreams() === before);
  });

  it('refuses an unauthenticated upgrade with a 401 Status', async () => {
    const { socket, head, rest } = await rawUpgrade(world, `${base()}/spdy-echo`, ['Connection: Upgrade', 'Upgrade: SPDY/3.1']);
    assert.match(head, /^HTTP\/1.1 401 /);
    const body = await readBytes(socket, Number(/Content-Length: (\d+)/i.exec(head)![1]), rest);
    assert.equal(JSON.parse(body.toString()).reason, 'Unauthorized');
    socket.destroy();
  });

  /** Reads the refusal's `Status` after its head; the gateway closes the socket after it. */
  const statusAfter = async (socket: TLSSocket, head: string, rest: Buffer<ArrayBufferLike>) =>
    JSON.parse((await readBytes(socket, Number(/Content-Length: (\d+)/i.exec(head)![1]), rest)).toString());
  const execLines = (token: string) => [
    `Authorization: Bearer ${token}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Protocol: v5.channel.k8s.io',
  ];
  const execPath = () => `${base()}/api/v1/namespaces/default/pods/web-0/exec?command=whoami&stdout=true`;

  it('an upgrade asking for an identity the cluster does not let alice take: 403 on the socket, and no upgrade reaches the cluster', async () => {
    world.double.clearRequests();
    const { socket, head, rest } = await rawUpgrade(world, execPath(), [...execLines(alice.token), 'Impersonate-User: root', 'Impersonate-Group: system:masters']);
    assert.match(head, /^HTTP\/1\.1 403 /);
    const status = await statusAfter(socket, head, rest);
    assert.deepEqual([status.kind, status.reason, status.code], ['Status', 'Forbidden', 403]);
    socket.destroy();
    assert.deepEqual(world.double.requests.filter((r) => r.upgrade), [], 'no upgrade reached the cluster');
    // What did reach it: only alice's own access reviews, asked as alice.
    for (const r of world.double.requests) {
      assert.match(r.path, /selfsubjectaccessreviews/);
      assert.equal(r.effective?.username, 'alice');
    }
  });

  it('an upgrade to an unreachable cluster: 503 on the socket, never a 101', async () => {
    const registered = await call(world.gw, 'POST', '/v1/clusters', { token: world.adminToken, body: { id: 'down', server: 'https://127.0.0.1:1', credential: { token: 'x' } } });
    assert.equal(registered.status, 201, registered.text);
    await call(world.gw, 'PUT', '/v1/clusters/down/members', { token: world.adminToken, body: { principal: 'user:alice', role: 'member' } });
    const { socket, head, rest } = await rawUpgrade(world, '/k8s/clusters/down/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true', execLines(alice.token));
    assert.match(head, /^HTTP\/1\.1 503 /);
    const status = await statusAfter(socket, head, rest);
    assert.equal(status.reason, 'ServiceUnavailable');
    assert.match(status.message, /cluster "down" is unreachable \(ECONNREFUSED\)/);
    socket.destroy();

    // And an agent token (the webhook's and agent's credential) reaches no cluster: 403 for requests and upgrades.
    const agentToken = registered.body.agentToken as string;
    const plain = await call(world.gw, 'GET', `${base()}/api/v1/namespaces/default/pods`, { token: agentToken });
    assert.equal(plain.status, 403);
    assert.equal(plain.body.message, 'agent tokens cannot be used to reach a cluster');
    world.double.clearRequests();
    const upgrade = await rawUpgrade(world, execPath(), execLines(agentToken));
    assert.match(upgrade.head, /^HTTP\/1\.1 403 /);
    assert.equal((await statusAfter(upgrade.socket, upgrade.head, upgrade.rest)).message, 'agent tokens cannot be used to reach a cluster');
    upgrade.socket.destroy();
    assert.deepEqual(world.double.requests, [], 'nothing reached the cluster');
  });
});

describe('upgrade refused by the cluster', () => {
  let world: ProxyWorld;
  let token: string;
  before(async () => {
    world = await startProxyWorld({ double: { refuseUpgrades: true } });
    token = (await memberUser(world, { username: 'alice' })).token;
  });
  after(() => world.stop());

  it('relays the non-101 answer as-is', async () => {
    const { socket, head, rest } = await rawUpgrade(world, `/k8s/clusters/${world.clusterId}/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true`, [
      `Authorization: Bearer ${token}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol: v5.channel.k8s.io',
    ]);
    // Exactly what the double sent: its 403 Status, relayed.
    assert.match(head, /^HTTP\/1\.1 403 /);
    const text = await new Promise<string>((resolve) => {
      let t = rest.toString();
      socket.on('data', (c) => (t += c));
      socket.on('close', () => resolve(t));
    });
    const status = JSON.parse(text);
    assert.deepEqual([status.kind, status.reason, status.code, status.message], ['Status', 'Forbidden', 403, 'upgrade refused by the kube-apiserver test double (refuseUpgrades)']);
  });
});
