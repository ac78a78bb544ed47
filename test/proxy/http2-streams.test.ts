/**
 * Long-running requests over HTTP/2 to the cluster: watches share upstream connections (one
 * stream each), events flow as they come, a client closing its watch resets only its stream, and
 * an upstream that speaks only HTTP/1.1 still gets one connection per watch, closed with it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request, type Server as HttpsServer } from 'node:https';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { AUTHENTICATED_GROUP } from '../../src/auth/identity.js';
import { createCertificateAuthority, type CertificateAuthority } from '../kube-double/index.js';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';

const UPSTREAM_TOKEN = 'upstream-token';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (no timing asserts: the test's own timeout bounds it). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await wait(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface UpstreamWatch {
  httpVersion: string;
  rawHeaders: string[];
  /** The watch's response: write events, end it. */
  res: { write(chunk: string): boolean; end(): void };
  closed: boolean;
}

/** A log follow that sends `LOG_BYTES` as fast as its reader allows. */
interface UpstreamFollow {
  sent: number;
  ended: boolean;
}
const LOG_BYTES = 64 * 1024 * 1024;

/** Sends `LOG_BYTES` in 64 KiB writes, waiting for 'drain' whenever the stream is full. */
function sendLog(res: ServerResponse, follow: UpstreamFollow): void {
  const chunk = Buffer.alloc(64 * 1024, 'l');
  res.writeHead(200, { 'content-type': 'text/plain' });
  const pump = (): void => {
    while (follow.sent < LOG_BYTES) {
      follow.sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end(() => (follow.ended = true));
  };
  pump();
}

/** A kube-apiserver stand-in whose watches stay open until the test writes to or closes them. */
interface Upstream {
  url: string;
  follows: UpstreamFollow[];
  /** TLS connections accepted since the cluster was registered, and how many are still open. */
  connections: TLSSocket[];
  /** Those accepted before: the gateway's health probe at registration (issue 15). */
  earlier: TLSSocket[];
  watches: UpstreamWatch[];
  open(): UpstreamWatch[];
  close(): Promise<void>;
}

async function startUpstream(ca: CertificateAuthority, kind: { http2: false } | { http2: true; maxConcurrentStreams?: number }): Promise<Upstream> {
  const watches: UpstreamWatch[] = [];
  const follows: UpstreamFollow[] = [];
  const connections: TLSSocket[] = [];
  const earlier: TLSSocket[] = [];
  const handle = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${UPSTREAM_TOKEN}`) return void res.writeHead(401).end();
    if (req.url!.includes('follow=true')) {
      const follow = { sent: 0, ended: false };
      follows.push(follow);
      return sendLog(res as ServerResponse, follow);
    }
    if (!req.url!.includes('watch=true')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const out = res as ServerResponse; // the HTTP/2 compatibility response has the same calls
    const watch: UpstreamWatch = { httpVersion: req.httpVersion, rawHeaders: req.rawHeaders, res: out, closed: false };
    watches.push(watch);
    out.once('close', () => (watch.closed = true));
    out.writeHead(200, { 'content-type': 'application/json' });
    out.flushHeaders();
  };
  const tls = { cert: ca.serving.certPem, key: ca.serving.keyPem };
  const server: Http2SecureServer | HttpsServer = kind.http2
    ? createSecureServer({ ...tls, allowHTTP1: true, settings: { maxConcurrentStreams: kind.maxConcurrentStreams ?? 100 } }, handle)
    : createHttpsServer(tls, handle);
  server.on('secureConnection', (s: TLSSocket) => connections.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections,
    earlier,
    watches,
    follows,
    open: () => watches.filter((w) => !w.closed),
    async close() {
      for (const s of [...connections, ...earlier]) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A watch through the gateway, on its own client connection; collects what arrives. */
function watchThroughGateway(gw: TestGateway, clusterId: string, token: string) {
  let received = '';
  let ended = false;
  const url = new URL(`/k8s/clusters/${clusterId}/api/v1/namespaces/default/configmaps?watch=true`, gw.url);
  const req = request(url, { agent: gw.agent, headers: { Authorization: `Bearer ${token}` } });
  const headers = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => (received += c));
      res.on('close', () => (ended = true));
      resolve(res.statusCode!);
    });
    req.on('error', (err) => (ended ? undefined : reject(err)));
  });
  req.end();
  return { headers, received: () => received, ended: () => ended, close: () => req.destroy() };
}

describe('long-running requests over HTTP/2', () => {
  let ca: CertificateAuthority;
  let gw: TestGateway;
  let adminToken: string;
  let userToken: string;

  before(async () => {
    ca = await createCertificateAuthority();
    gw = await startTestGateway();
    adminToken = await login(gw, 'admin', ADMIN_PASSWORD);
    await createUser(gw, adminToken, { username: 'alice', password: 'alice-password', groups: ['devs'] });
    userToken = await login(gw, 'alice', 'alice-password');
  });
  after(() => gw.stop());

  async function registerCluster(id: string, upstream: Upstream): Promise<void> {
    const res = await call(gw, 'POST', '/v1/clusters', {
      token: adminToken,
      body: { id, server: upstream.url, caData: Buffer.from(ca.caPem).toString('base64'), credential: { token: UPSTREAM_TOKEN } },
    });
    assert.equal(res.status, 201, res.text);
    // Registration probed the cluster (over the ordinary pool): count only what watches open next.
    upstream.earlier.push(...upstream.connections.splice(0));
    const member = await call(gw, 'PUT', `/v1/clusters/${id}/members`, { token: adminToken, body: { principal: 'user:alice', role: 'member' } });
    assert.equal(member.status, 200, member.text);
  }

  it('watches share one upstream connection, stream events, and closing one resets only its stream', async () => {
    const upstream = await startUpstream(ca, { http2: true });
    try {
      await registerCluster('h2', upstream);
      const watches = [0, 1, 2].map(() => watchThroughGateway(gw, 'h2', userToken));
      assert.deepEqual(await Promise.all(watches.map((w) => w.headers)), [200, 200, 200]);
      await until(() => upstream.open().length === 3, 'three upstream watches');
      assert.equal(upstream.connections.length, 1, 'one upstream connection carries all three');
      for (const w of upstream.watches) assert.equal(w.httpVersion, '2.0');
      // Repeated header lines stay separate fields: kube-apiserver reads one group per line.
      const groups = upstream.watches[0]!.rawHeaders.filter((_, i, all) => i % 2 === 1 && all[i - 1]!.toLowerCase() === 'impersonate-group');
      assert.deepEqual(groups.sort(), [AUTHENTICATED_GROUP, 'devs', 'kubegate:role:member'].sort());

      // Events arrive as the upstream writes them, each on its own watch.
      upstream.watches[1]!.res.write('{"type":"ADDED","object":{"metadata":{"name":"one"}}}\n');
      await until(() => watches[1]!.received().includes('"one"'), 'the event on watch 1');
      assert.equal(watches[0]!.received(), '');

      // The client of watch 0 goes away: the upstream sees that stream close, and only that one.
      watches[0]!.close();
      await until(() => upstream.watches[0]!.closed, 'the upstream stream of watch 0 to close');
      assert.equal(upstream.open().length, 2);
      assert.equal(upstream.connections[0]!.destroyed, false, 'the shared connection stays');
      upstream.watches[2]!.res.write('{"type":"ADDED","object":{"metadata":{"name":"two"}}}\n');
      await until(() => watches[2]!.received().includes('"two"'), 'the event on watch 2');
      assert.equal(watches[1]!.ended(), false);
      assert.equal(watches[2]!.ended(), false);

      // A watch the upstream ends ends for its client too.
      upstream.watches[1]!.res.end();
      await until(() => watches[1]!.ended(), 'watch 1 to end');
      watches[2]!.close();
      await until(() => upstream.open().length === 0, 'every upstream stream to close');
    } finally {
      await call(gw, 'DELETE', '/v1/clusters/h2', { token: adminToken });
      await upstream.close();
    }
  });

  it('a log follow its client does not read holds back only its own stream', async () => {
    const upstream = await startUpstream(ca, { http2: true });
    try {
      await registerCluster('h2-flow', upstream);
      const watch = watchThroughGateway(gw, 'h2-flow', userToken);
      assert.equal(await watch.headers, 200);
      let received = 0;
      const logUrl = new URL('/k8s/clusters/h2-flow/api/v1/namespaces/default/pods/p/log?follow=true', gw.url);
      const log = request(logUrl, { agent: gw.agent, headers: { Authorization: `Bearer ${userToken}` } });
      const response = new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
        log.on('response', resolve);
        log.on('error', reject);
      });
      log.end();
      const res = await response;
      res.pause(); // the client stops reading
      await until(() => upstream.follows.length === 1 && upstream.watches.length === 1, 'the follow and the watch upstream');
      assert.equal(upstream.connections.length, 1, 'both on one connection');

      // The watch on the same connection still gets its events while the follow is stuck...
      upstream.watches[0]!.res.write('{"type":"ADDED","object":{"metadata":{"name":"flowing"}}}\n');
      await until(() => watch.received().includes('"flowing"'), 'the watch event');
      // ...and the upstream is held back rather than the gateway buffering the whole log.
      assert.ok(upstream.follows[0]!.sent < LOG_BYTES, `the upstream sent ${upstream.follows[0]!.sent} of ${LOG_BYTES} bytes`);

      res.on('data', (c: Buffer) => (received += c.length));
      res.resume();
      await new Promise((r) => res.on('end', r));
      assert.equal(received, LOG_BYTES);
      watch.close();
    } finally {
      await call(gw, 'DELETE', '/v1/clusters/h2-flow', { token: adminToken });
      await upstream.close();
    }
  });

  it("opens another connection when one is at the server's concurrent-stream limit", async () => {
    const upstream = await startUpstream(ca, { http2: true, maxConcurrentStreams: 2 });
    try {
      await registerCluster('h2-small', upstream);
      const watches = [0, 1, 2, 3, 4].map(() => watchThroughGateway(gw, 'h2-small', userToken));
      assert.deepEqual(await Promise.all(watches.map((w) => w.headers)), [200, 200, 200, 200, 200]);
      await until(() => upstream.open().length === 5, 'five upstream watches');
      assert.equal(upstream.connections.length, 3, 'two streams per connection');
      for (const w of watches) w.close();
      await until(() => upstream.open().length === 0, 'every upstream stream to close');
    } finally {
      await call(gw, 'DELETE', '/v1/clusters/h2-small', { token: adminToken });
      await upstream.close();
    }
  });

  it("deleting the cluster ends its watches' upstream streams", async () => {
    const upstream = await startUpstream(ca, { http2: true });
    try {
      await registerCluster('h2-gone', upstream);
      const watches = [0, 1].map(() => watchThroughGateway(gw, 'h2-gone', userToken));
      await Promise.all(watches.map((w) => w.headers));
      await until(() => upstream.open().length === 2, 'two upstream watches');
      assert.equal((await call(gw, 'DELETE', '/v1/clusters/h2-gone', { token: adminToken })).status, 204);
      await until(() => upstream.open().length === 0, 'the upstream streams to close');
      await until(() => watches.every((w) => w.ended()), 'the client watches to end');
    } finally {
      await upstream.close();
    }
  });

  it('an HTTP/1.1-only upstream gets one connection per watch, closed with it', async () => {
    const upstream = await startUpstream(ca, { http2: false });
    try {
      await registerCluster('h1', upstream);
      const watches = [0, 1].map(() => watchThroughGateway(gw, 'h1', userToken));
      assert.deepEqual(await Promise.all(watches.map((w) => w.headers)), [200, 200]);
      await until(() => upstream.open().length === 2, 'two upstream watches');
      for (const w of upstream.watches) assert.equal(w.httpVersion, '1.1');
      upstream.watches[1]!.res.write('{"type":"ADDED","object":{"metadata":{"name":"h1"}}}\n');
      await until(() => watches[1]!.received().includes('"h1"'), 'the event on watch 1');

      watches[0]!.close();
      await until(() => upstream.watches[0]!.closed, 'the upstream watch 0 to close');
      const live = () => upstream.connections.filter((s) => !s.destroyed).length;
      await until(() => live() === 1, 'its upstream connection to close');
      assert.equal(watches[1]!.ended(), false);
      watches[1]!.close();
      await until(() => live() === 0, 'every upstream connection to close');
    } finally {
      await call(gw, 'DELETE', '/v1/clusters/h1', { token: adminToken });
      await upstream.close();
    }
  });
});
