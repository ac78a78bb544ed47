/**
 * Property: whatever a client sends, nothing it sent as identity reaches the cluster, and the
 * gateway stays up (issue 7). fast-check drives both a pure check of the strip stage and raw
 * requests end to end.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { stripClientIdentity, isIdentityHeader } from '../../src/proxy/strip-headers.js';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { gatewayPort, rawExchange } from './raw-http.js';
import { h2Call, h2Session } from '../support/h2-client.js';

const IDENTITY_NAMES = ['Authorization', 'Impersonate-User', 'Impersonate-Group', 'Impersonate-Uid', 'Impersonate-Extra-scopes', 'Impersonate-Extra-kubegate.io%2Ftoken-id', 'X-Remote-User', 'X-Remote-Group', 'X-Remote-Extra-a', 'X-Forwarded-For', 'X-Forwarded-User'];
const OTHER_NAMES = ['Accept', 'User-Agent', 'X-Custom', 'Content-Type', 'Keep-Alive', 'Proxy-Authorization', 'TE', 'Trailer', 'Upgrade', 'X-Stream-Protocol-Version'];

const anyCase = (name: string) => fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((flips) => [...name].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
const headerName = fc.oneof(fc.constantFrom(...IDENTITY_NAMES, ...OTHER_NAMES).chain(anyCase), fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/));
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((v) => v.trim());
const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 });

function req(raw: string[]): IncomingMessage {
  return { rawHeaders: raw, headersDistinct: {} } as unknown as IncomingMessage;
}

describe('strip stage, for any header list', () => {
  it('lets no identity (client Impersonate-* included: the impersonation check reads those) or Connection-listed header through', () => {
    fc.assert(
      fc.property(headers, fc.array(headerName, { maxLength: 3 }), fc.boolean(), (pairs, connectionListed, upgrade) => {
        const raw = pairs.flat();
        if (connectionListed.length) raw.push('Connection', connectionListed.join(', '));
        const out = stripClientIdentity(req(raw), { trustForwarded: false, upgrade });
        const listed = new Set(connectionListed.map((n) => n.toLowerCase()));
        for (let i = 0; i < out.length; i += 2) {
          const name = out[i]!.toLowerCase();
          assert.ok(!isIdentityHeader(name, false), `${name} passed`);
          if (!(upgrade && (name === 'connection' || name === 'upgrade'))) assert.ok(!listed.has(name), `Connection-listed ${name} passed`);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('gateway, for any raw request', () => {
  let world: ProxyWorld;
  let token: string;
  before(async () => {
    world = await startProxyWorld();
    token = (await memberUser(world, { username: 'alice' })).token;
  });
  after(() => world.stop());

  const path = fc.oneof(
    fc.constant('/api/v1/namespaces'),
    fc.constant('/api'),
    fc.stringMatching(/^\/[A-Za-z0-9%./_-]{0,30}$/),
  );
  const clusterId = fc.oneof(fc.constant('double'), fc.constant('DOUBLE'), fc.constant('dou%62le'), fc.constant('..'), fc.stringMatching(/^[a-z0-9%._-]{0,12}$/));

  it('never forwards client identity and keeps serving', async () => {
    const port = gatewayPort(world.gw.url);
    await fc.assert(
      fc.asyncProperty(clusterId, path, headers, fc.boolean(), async (id, p, pairs, withToken) => {
        const lines = pairs.filter(([n]) => !/^(content-length|transfer-encoding|host|connection)$/i.test(n)).map(([n, v]) => `${n}: ${v}`);
        if (withToken) lines.unshift(`Authorization: Bearer ${token}`);
        const answer = await rawExchange(port, world.gw.caPem!, `GET /k8s/clusters/${id}${p} HTTP/1.1\r\nHost: localhost\r\n${lines.join('\r\n')}${lines.length ? '\r\n' : ''}Connection: close\r\n\r\n`);
        // The gateway answers only these; any other status must be the cluster's own, relayed (it carries Audit-Id).
        const fromCluster = /^audit-id:/im.test(answer.head);
        assert.ok([200, 400, 401, 403, 404, 406, 429, 431].includes(answer.status) || (fromCluster && answer.status >= 200), `status ${answer.status}: ${answer.head}`);
        if (answer.status >= 400 && answer.status !== 404 && !answer.dropped && answer.body) {
          // Errors made by the gateway are Status objects; a 404 may come from the cluster itself.
          const body = JSON.parse(answer.body);
          assert.equal(body.kind, 'Status');
        }
      }),
      { numRuns: 150 },
    );
    for (const r of world.double.requests) {
      const names = r.rawHeaders.map(([n]) => n.toLowerCase());
      assert.ok(!names.some((n) => n.startsWith('x-remote-') || n.startsWith('x-forwarded-')), `identity header reached the cluster: ${names}`);
      assert.deepEqual(r.headersDistinct['authorization'], [`Bearer ${world.double.gatewayToken}`]);
      assert.deepEqual(r.headersDistinct['impersonate-user'], ['alice']);
      assert.ok(!JSON.stringify(r.rawHeaders).includes(token));
    }
    assert.equal((await call(world.gw, 'GET', '/healthz')).status, 200);
  });
});

/** Fields Node's HTTP/2 client refuses to repeat. */
const SINGLE_VALUE = new Set(['authorization', 'proxy-authorization', 'content-type', 'user-agent', 'age', 'content-encoding', 'content-language', 'content-location', 'content-md5', 'content-range', 'date', 'dnt', 'etag', 'expires', 'from', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'range', 'referer', 'retry-after', 'tk', 'upgrade-insecure-requests', 'x-content-type-options']);

describe('gateway over HTTP/2, for any request', () => {
  let world: ProxyWorld;
  let token: string;
  before(async () => {
    world = await startProxyWorld();
    token = (await memberUser(world, { username: 'alice' })).token;
  });
  after(() => world.stop());

  // What an h2 client may send at all: lower-case names, no connection-specific fields (RFC 9113 §8.2.2).
  const h2Name = headerName.map((n) => n.toLowerCase()).filter((n) => !/^(connection|keep-alive|proxy-connection|transfer-encoding|upgrade|te|host|content-length)$/.test(n));
  const h2Headers = fc.array(fc.tuple(h2Name, headerValue), { maxLength: 12 });

  it('never forwards client identity and keeps serving, the same as over HTTP/1.1', async () => {
    const session = await h2Session(world.gw.url, world.gw.caPem!);
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('double', 'DOUBLE', 'dou%62le', '..', 'x'), fc.constantFrom('/api/v1/namespaces', '/api', '/apis/../api'), h2Headers, fc.boolean(), async (id, p, pairs, withToken) => {
          const headers: Record<string, string[]> = {};
          for (const [n, v] of pairs) (headers[n] ??= []).push(v);
          // Node's client sends a repeated single-value field only once.
          for (const n of Object.keys(headers)) if (SINGLE_VALUE.has(n)) headers[n] = [headers[n]![0]!];
          const r = await h2Call(session, 'GET', `/k8s/clusters/${id}${p}`, { headers: { ...headers, ...(withToken ? { authorization: `Bearer ${token}` } : {}) } });
          if (r.status >= 400 && r.status !== 404 && r.text) assert.equal(r.body?.kind, 'Status', r.text);
        }),
        { numRuns: 150 },
      );
    } finally {
      session.destroy();
    }
    for (const r of world.double.requests) {
      const names = r.rawHeaders.map(([n]) => n.toLowerCase());
      assert.ok(!names.some((n) => n.startsWith('x-remote-') || n.startsWith('x-forwarded-') || n.startsWith(':') || n === 'cookie'), `identity header reached the cluster: ${names}`);
      assert.deepEqual(r.headersDistinct['authorization'], [`Bearer ${world.double.gatewayToken}`]);
      assert.deepEqual(r.headersDistinct['impersonate-user'], ['alice']);
      assert.ok(!JSON.stringify(r.rawHeaders).includes(token));
    }
    assert.equal((await call(world.gw, 'GET', '/healthz')).status, 200);
  });
});
