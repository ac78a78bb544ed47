/**
 * Issue 14, finding 1: header padding must never cost the impersonation. Whatever a client sends,
 * the upstream's first header lines are the gateway's credential and the user's `Impersonate-*`
 * lines, on every path (the HTTP/1.1 pool, HTTP/2 streams, the upgrade tunnel); a request with
 * more than `--max-header-lines` lines is refused with 431 and reaches nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AUTHENTICATED_GROUP } from '../../src/auth/identity.js';
import { createCertificateAuthority } from '../kube-double/index.js';
import { call } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { gatewayPort, rawExchange, rawHead } from './raw-http.js';
import { startRecordingUpstream, type RecordingUpstream } from './recording-upstream.js';

const LIMIT = 200;
const UPSTREAM_TOKEN = 'h2-upstream-token';

/** Asserts that, after Host/Connection/pseudo-headers, the gateway's credential and every identity line come before any client line. */
function assertIdentityFirst(raw: ReadonlyArray<readonly [string, string]>, credential: string, username: string): void {
  const names = raw.map(([n]) => n.toLowerCase());
  let i = 0;
  while (i < names.length && (names[i] === 'host' || names[i] === 'connection' || names[i]!.startsWith(':'))) i++;
  assert.equal(names[i], 'authorization', `first line after Host is the gateway credential: ${names.slice(0, 8).join(', ')}`);
  assert.equal(raw[i]![1], `Bearer ${credential}`);
  assert.equal(names[i + 1], 'impersonate-user');
  assert.equal(raw[i + 1]![1], username);
  const isIdentity = (n: string) => n === 'authorization' || n.startsWith('impersonate-');
  const firstOther = names.findIndex((n, j) => j > i && !isIdentity(n) && !(n === 'connection' || n === 'upgrade'));
  const lastIdentity = names.reduce((last, n, j) => (isIdentity(n) ? j : last), -1);
  assert.ok(firstOther === -1 || lastIdentity < firstOther, `an identity line (${names[lastIdentity]}) came after a client line (${names[firstOther]})`);
  assert.equal(names.filter((n) => n === 'authorization').length, 1);
  assert.equal(names.filter((n) => n === 'impersonate-user').length, 1);
  assert.ok(raw.some(([n, v]) => n.toLowerCase() === 'impersonate-group' && v === AUTHENTICATED_GROUP));
}

const pairsOf = (flat: readonly string[]): Array<[string, string]> => {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};

const RESERVED = /^(content-length|transfer-encoding|host|connection|expect|authorization|impersonate-.*|upgrade)$/i;
const junkName = fc.oneof(
  fc.constantFrom('Accept', 'User-Agent', 'X-Custom', 'Content-Type', 'content-type', 'X-Remote-User', 'X_Remote_User', 'Keep-Alive', 'TE', 'X-Stream-Protocol-Version'),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,20}$/),
).filter((n) => !RESERVED.test(n));
const junkValue = fc.stringMatching(/^[\x21-\x7e]{0,30}$/);
const junk = fc.tuple(fc.array(fc.tuple(junkName, junkValue), { maxLength: 15 }), fc.integer({ min: 0, max: LIMIT + 40 }), fc.boolean()).map(([named, padding, padFirst]) => {
  const pad = Array.from({ length: padding }, (_, i) => [`X-Pad-${i}`, 'p'] as [string, string]);
  return padFirst ? [...pad, ...named] : [...named, ...pad];
});

describe('the gateway identity comes first, and header padding is refused', () => {
  let world: ProxyWorld;
  let token: string;
  let port: number;
  let h2: RecordingUpstream;
  const base = () => `/k8s/clusters/${world.clusterId}`;
  const request = (method: string, path: string, lines: Array<[string, string]>, extra = '') =>
    `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n${lines.map(([n, v]) => `${n}: ${v}\r\n`).join('')}${extra}\r\n`;

  before(async () => {
    world = await startProxyWorld({ flags: ['--max-header-lines', String(LIMIT)] });
    token = (await memberUser(world, { username: 'alice', groups: ['devs'] })).token;
    port = gatewayPort(world.gw.url);
    const ca = await createCertificateAuthority();
    h2 = await startRecordingUpstream(ca);
    const res = await call(world.gw, 'POST', '/v1/clusters', {
      token: world.adminToken,
      body: { id: 'h2', server: h2.url, caData: Buffer.from(ca.caPem).toString('base64'), credential: { token: UPSTREAM_TOKEN } },
    });
    assert.equal(res.status, 201, res.text);
    const member = await call(world.gw, 'PUT', '/v1/clusters/h2/members', { token: world.adminToken, body: { principal: 'user:alice', role: 'member' } });
    assert.equal(member.status, 200, member.text);
  });
  after(async () => {
    await world.stop();
    await h2.close();
  });

  it('HTTP/1.1 pool: for any client header list, the upstream reads the gateway credential and Impersonate-* first, or nothing (431)', async () => {
    await fc.assert(
      fc.asyncProperty(junk, async (lines) => {
        world.double.clearRequests();
        const answer = await rawExchange(port, world.gw.caPem!, request('GET', `${base()}/api/v1/namespaces`, lines, 'Connection: close\r\n'));
        const sent = lines.length + 3;
        if (sent > LIMIT) {
          assert.equal(answer.status, 431, `${sent} lines`);
          assert.equal(JSON.parse(answer.body).kind, 'Status');
          assert.equal(world.double.requests.length, 0, 'a padded request reaches nothing');
          return;
        }
        // The double's answer is relayed, whatever it is (a junk Accept gets its 406).
        assert.notEqual(answer.status, 431, `${sent} lines`);
        assert.equal(world.double.requests.length, 1, `${sent} lines: ${answer.head}`);
        const seen = world.double.requests[0]!;
        assertIdentityFirst(seen.rawHeaders, world.double.gatewayToken, 'alice');
        // The double ran it as alice, never as the gateway's own account.
        assert.equal(seen.effective?.username, 'alice');
      }),
      { numRuns: 60, includeErrorInReport: true },
    );
  });

  it('refuses an Impersonate-User sent past line 1,000 with 431 instead of ignoring it', async () => {
    world.double.clearRequests();
    const pad = Array.from({ length: 1_032 }, (_, i) => [`X-P${i}`, 'p'] as [string, string]);
    const answer = await rawExchange(port, world.gw.caPem!, request('GET', `${base()}/api`, [...pad, ['Impersonate-User', 'system:admin']], 'Connection: close\r\n'));
    assert.equal(answer.status, 431);
    assert.equal(JSON.parse(answer.body).reason, 'RequestHeaderFieldsTooLarge');
    assert.match(answer.head, /connection: close/i);
    assert.equal(world.double.requests.length, 0);
  });

  it('refuses 996 junk lines (the padding that once ran requests as the gateway) on the API and the UI too', async () => {
    const pad = Array.from({ length: 996 }, (_, i) => [`X-P${i}`, 'p'] as [string, string]);
    for (const path of [`${base()}/api`, '/v1/me', '/ui/login', '/healthz']) {
      const answer = await rawExchange(port, world.gw.caPem!, request('GET', path, pad, 'Connection: close\r\n'));
      assert.equal(answer.status, 431, path);
    }
  });

  it('HTTP/2 streams: the identity comes first, and headers named like Object members arrive as sent', async () => {
    await fc.assert(
      // Repeats included: a repeated single-value field (Content-Type) keeps its first line.
      fc.asyncProperty(junk.filter((l) => l.length + 6 <= LIMIT), async (lines) => {
        h2.received.length = 0;
        const odd: Array<[string, string]> = [['constructor', 'ctor-value'], ['toString', 'ts-value'], ['hasOwnProperty', 'hop-value']];
        const answer = await rawExchange(port, world.gw.caPem!, request('GET', '/k8s/clusters/h2/api/v1/namespaces/default/configmaps?watch=true', [...odd, ...lines], 'Connection: close\r\n'));
        assert.equal(answer.status, 200, answer.head);
        assert.equal(h2.received.length, 1);
        const seen = h2.received[0]!;
        assert.equal(seen.httpVersion, '2.0', 'the watch went over HTTP/2');
        const raw = pairsOf(seen.rawHeaders);
        assertIdentityFirst(raw, UPSTREAM_TOKEN, 'alice');
        const value = (name: string) => raw.filter(([n]) => n === name).map(([, v]) => v);
        assert.deepEqual(value('constructor'), ['ctor-value']);
        assert.deepEqual(value('tostring'), ['ts-value']);
        assert.deepEqual(value('hasownproperty'), ['hop-value']);
        const firstType = lines.find(([n]) => n.toLowerCase() === 'content-type');
        if (firstType) assert.deepEqual(value('content-type'), [firstType[1]]);
      }),
      { numRuns: 25, includeErrorInReport: true },
    );
  });

  it('the upgrade tunnel: the identity comes first, and a padded upgrade is refused with 431', async () => {
    const ws = [
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io'],
    ] as Array<[string, string]>;
    const path = `${base()}/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true`;
    for (const padding of [0, 150, LIMIT]) {
      world.double.clearRequests();
      const pad = Array.from({ length: padding }, (_, i) => [`X-P${i}`, 'p'] as [string, string]);
      const { socket, status } = await rawHead(port, world.gw.caPem!, request('GET', path, [...pad, ...ws]));
      socket.destroy();
      if (padding + 7 > LIMIT) {
        assert.equal(status, 431);
        assert.equal(world.double.requests.length, 0);
        continue;
      }
      assert.equal(status, 101);
      const seen = world.double.requests.find((r) => r.upgrade);
      assert.ok(seen, 'the double saw the upgrade');
      assertIdentityFirst(seen.rawHeaders, world.double.gatewayToken, 'alice');
    }
  });
});
