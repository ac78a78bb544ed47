/**
 * Issue 14, "also": revocation ends open streams (kube-apiserver keeps them; the gateway does
 * not). A revoked token, a disabled or deleted user, a removed membership or a deleted cluster
 * ends that user's open watches, log follows and exec/port-forward tunnels through the gateway,
 * with an audit line saying why; other users' streams stay open. The cluster sees each upstream
 * stream close.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { gatewayPort, rawHead } from './raw-http.js';

interface Stream {
  socket: TLSSocket;
  /** Finds the stream's audit lines (by the X-Request-Id of its answer, a tunnel's 101 too). */
  line: (l: Record<string, unknown>) => boolean;
  closed: Promise<unknown>;
}

describe('revocation ends open streams', { timeout: 60_000 }, () => {
  let world: ProxyWorld;
  let port: number;
  const base = () => `/k8s/clusters/${world.clusterId}`;

  before(async () => {
    world = await startProxyWorld();
    port = gatewayPort(world.gw.url);
  });
  after(() => world.stop());

  async function open(kind: 'watch' | 'follow' | 'tunnel', token: string): Promise<Stream> {
    const request =
      kind === 'tunnel'
        ? `GET ${base()}/spdy-echo HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n`
        : `GET ${base()}${kind === 'watch' ? '/api/v1/namespaces/default/configmaps?watch=true' : '/api/v1/namespaces/default/pods/web-0/log?follow=true'} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n\r\n`;
    const { socket, status, head } = await rawHead(port, world.gw.caPem!, request);
    socket.on('error', () => {});
    socket.removeAllListeners('close');
    assert.equal(status, kind === 'tunnel' ? 101 : 200, head);
    const requestId = /x-request-id: (\S+)/i.exec(head)?.[1];
    assert.ok(requestId, `X-Request-Id in ${head}`);
    return { socket, line: (l) => l.requestId === requestId, closed: once(socket, 'close') };
  }

  /** The closing audit line of a request, once written. */
  async function endLine(stream: Stream): Promise<Record<string, unknown>> {
    for (;;) {
      const lines = (await readFile(join(world.gw.dir, 'audit.log'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const end = lines.find((l) => stream.line(l) && l.stage === 'end');
      if (end) return end;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const stillOpen = (s: Stream) => !s.socket.destroyed;

  it('a revoked token ends its watch, follow and tunnel; the same user\'s other token and other users keep theirs', { timeout: 15_000 }, async () => {
    const alice = await memberUser(world, { username: 'alice' });
    const other = (await call(world.gw, 'POST', '/v1/tokens', { token: alice.token, body: {} })).body.token as string;
    const bystander = await memberUser(world, { username: 'zoe' });
    const mine = [await open('watch', alice.token), await open('follow', alice.token), await open('tunnel', alice.token)];
    const kept = [await open('watch', other), await open('watch', bystander.token)];
    const upstreamBefore = world.double.activeStreams();

    assert.equal((await call(world.gw, 'DELETE', `/v1/tokens/${alice.tokenId}`, { token: alice.token })).status, 204);
    await Promise.all(mine.map((s) => s.closed));
    for (const s of mine) {
      const line = await endLine(s);
      assert.equal(line.revoked, 'token revoked');
      assert.equal(line.reason, 'Revoked');
      assert.equal(line.user, 'alice');
    }
    assert.ok(kept.every(stillOpen), 'streams of other tokens stay open');
    // The cluster sees its side of the ended streams close too.
    for (let i = 0; world.double.activeStreams() > upstreamBefore - 3; i++) await new Promise((r) => setTimeout(r, 20));
    for (const s of kept) s.socket.destroy();
  });

  it('disabling a user ends their streams (user disabled)', { timeout: 15_000 }, async () => {
    const bob = await memberUser(world, { username: 'bob' });
    const streams = [await open('watch', bob.token), await open('tunnel', bob.token)];
    assert.equal((await call(world.gw, 'PATCH', `/v1/users/${bob.id}`, { token: world.adminToken, body: { enabled: false } })).status, 200);
    await Promise.all(streams.map((s) => s.closed));
    for (const s of streams) assert.equal((await endLine(s)).revoked, 'user disabled');
  });

  it('removing the membership ends the streams on that cluster (membership removed)', { timeout: 15_000 }, async () => {
    const carol = await memberUser(world, { username: 'carol' });
    const stream = await open('follow', carol.token);
    const res = await call(world.gw, 'DELETE', `/v1/clusters/${world.clusterId}/members/${encodeURIComponent('user:carol')}`, { token: world.adminToken });
    assert.equal(res.status, 204, res.text);
    await stream.closed;
    assert.equal((await endLine(stream)).revoked, 'membership removed');
  });

  it('deleting a user ends their streams (user deleted)', { timeout: 15_000 }, async () => {
    const dave = await memberUser(world, { username: 'dave' });
    const stream = await open('tunnel', dave.token);
    assert.equal((await call(world.gw, 'DELETE', `/v1/users/${dave.id}`, { token: world.adminToken })).status, 204);
    await stream.closed;
    assert.equal((await endLine(stream)).revoked, 'user deleted');
  });

  it('a change that takes nothing away (new groups) leaves the streams open', { timeout: 15_000 }, async () => {
    const erin = await memberUser(world, { username: 'erin' });
    const stream = await open('watch', erin.token);
    assert.equal((await call(world.gw, 'PATCH', `/v1/users/${erin.id}`, { token: world.adminToken, body: { groups: ['devs'] } })).status, 200);
    // The same token's next request is judged after the same event: once it answers, the stream's judgement is done too.
    assert.equal((await call(world.gw, 'GET', `${base()}/api/v1/namespaces`, { token: erin.token })).status, 200);
    await new Promise((r) => setImmediate(r));
    assert.ok(stillOpen(stream));
    stream.socket.destroy();
  });
});
