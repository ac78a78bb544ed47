/** Table tests of the proxy stages on plain objects, no server. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { parseClusterPath } from '../../src/proxy/cluster-path.js';
import { stripClientIdentity } from '../../src/proxy/strip-headers.js';
import { impersonate, impersonationHeaders } from '../../src/proxy/impersonate.js';
import { requestedIdentity, requestedIdentityHeaders } from '../../src/proxy/checked-impersonation.js';
import { bearerToken } from '../../src/http/bearer.js';
import { GatewayError } from '../../src/errors.js';
import type { UserIdentity } from '../../src/auth/identity.js';
import type { ClusterRoute } from '../../src/upstream/cluster-directory.js';

function req(raw: string[]): IncomingMessage {
  const distinct: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) (distinct[raw[i]!.toLowerCase()] ??= []).push(raw[i + 1]!);
  return { rawHeaders: raw, headersDistinct: distinct } as unknown as IncomingMessage;
}

function names(raw: string[]): string[] {
  return raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

const reasonOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as GatewayError).reason;
  }
  return undefined;
};

describe('parseClusterPath', () => {
  const ok: [string, string, string][] = [
    ['/k8s/clusters/c1/api/v1/pods?watch=1', 'c1', '/api/v1/pods?watch=1'],
    ['/k8s/clusters/c1', 'c1', '/'],
    ['/k8s/clusters/c1?x=1', 'c1', '/?x=1'],
    ['/k8s/clusters/my-cluster-2/apis/apps/v1', 'my-cluster-2', '/apis/apps/v1'],
    ['/k8s/clusters/c1/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dx', 'c1', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dx'],
  ];
  for (const [url, id, path] of ok) {
    it(`parses ${url}`, () => assert.deepEqual(parseClusterPath(url), { clusterId: id, path }));
  }
  const bad = [
    '/k8s/clusters/',
    '/k8s/clusters/C1/api',
    '/k8s/clusters/c1%2Fc2/api',
    '/k8s/clusters/../c2/api',
    '/k8s/clusters/./api',
    '/k8s/clusters/c1/../c2/api',
    '/k8s/clusters/c1/%2e%2e/c2',
    '/k8s/clusters/c1/api/%2fetc',
    '/k8s/clusters/-c1/api',
    '/k8s/clusters/c_1/api',
    `/k8s/clusters/${'a'.repeat(64)}/api`,
  ];
  for (const url of bad) it(`refuses ${url}`, () => assert.equal(reasonOf(() => parseClusterPath(url)), 'BadRequest'));
});

describe('bearerToken', () => {
  it('reads a bearer token case-insensitively', () => {
    assert.equal(bearerToken(req(['authorization', 'bearer abc'])), 'abc');
    assert.equal(bearerToken(req(['Authorization', 'Bearer abc'])), 'abc');
  });
  it('refuses two Authorization lines with 400', () => {
    assert.equal(reasonOf(() => bearerToken(req(['Authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer b']))), 'BadRequest');
  });
  it('refuses missing and non-bearer credentials with 401', () => {
    assert.equal(reasonOf(() => bearerToken(req([]))), 'Unauthorized');
    assert.equal(reasonOf(() => bearerToken(req(['Authorization', 'Basic YTpi']))), 'Unauthorized');
  });
  it('reads the WebSocket bearer subprotocol of an upgrade, and ignores it on a plain request', () => {
    const p = `base64url.bearer.authorization.k8s.io.${Buffer.from('tok-1').toString('base64url')}`;
    const upgrade = Object.assign(req(['Sec-WebSocket-Protocol', `v5.channel.k8s.io, ${p}`]), { upgrade: true });
    assert.equal(bearerToken(upgrade), 'tok-1');
    assert.equal(reasonOf(() => bearerToken(req(['Sec-WebSocket-Protocol', `v5.channel.k8s.io, ${p}`]))), 'Unauthorized');
  });
});

describe('requestedIdentity (kubectl --as, read as kube-apiserver reads it)', () => {
  it('is undefined without Impersonate-* headers', () => assert.equal(requestedIdentity(req(['Accept', 'x'])), undefined));
  it('takes the first user and uid line, every group line unsplit, extras lower-cased and decoded', () => {
    assert.deepEqual(
      requestedIdentity(
        req([
          'impersonate-user', 'bob', 'Impersonate-User', 'eve',
          'IMPERSONATE-GROUP', 'a, b', 'Impersonate-Group', 'ops',
          'Impersonate-Uid', 'u-1', 'Impersonate-Uid', 'u-2',
          'Impersonate-Extra-Scopes', 'read', 'Impersonate-Extra-scopes', 'write', 'Impersonate-Extra-example.com%2Fteam', 'x',
        ]),
      ),
      // Extras are a prototype-free map (issue 14): `constructor` or `__proto__` would be ordinary keys.
      { user: 'bob', uid: 'u-1', groups: ['a, b', 'ops'], extra: Object.assign(Object.create(null), { scopes: ['read', 'write'], 'example.com/team': ['x'] }) },
    );
  });
  it('refuses groups, a uid or extras without a user (400), unknown Impersonate-* headers (400) and a forged impersonated-by (403)', () => {
    for (const raw of [['Impersonate-Group', 'ops'], ['Impersonate-Uid', 'u'], ['Impersonate-Extra-a', 'b'], ['Impersonate-Whatever', 'x', 'Impersonate-User', 'bob']]) {
      assert.equal(reasonOf(() => requestedIdentity(req(raw))), 'BadRequest', JSON.stringify(raw));
    }
    assert.equal(reasonOf(() => requestedIdentity(req(['Impersonate-User', 'bob', 'Impersonate-Extra-kubegate.io%2Fimpersonated-by', 'x']))), 'Forbidden');
  });
  it('sends the requested identity with kubegate.io/impersonated-by', () => {
    const asked = requestedIdentity(req(['Impersonate-User', 'bob', 'Impersonate-Group', 'ops', 'Impersonate-Extra-scopes', 'read']))!;
    const alice = { username: 'alice' } as UserIdentity;
    assert.deepEqual(requestedIdentityHeaders(asked, alice), [
      'Impersonate-User', 'bob',
      'Impersonate-Group', 'ops',
      'Impersonate-Extra-scopes', 'read',
      'Impersonate-Extra-kubegate.io%2Fimpersonated-by', 'alice',
    ]);
  });
});

describe('stripClientIdentity', () => {
  const opts = { trustForwarded: false, upgrade: false };
  const spoofs: [string, string[]][] = [
    ['Impersonate-User', ['Impersonate-User', 'admin']],
    ['lower case', ['impersonate-user', 'admin']],
    ['odd case', ['iMpErSoNaTe-GrOuP', 'system:masters']],
    ['uid alone', ['Impersonate-Uid', 'u-x']],
    ['extra alone', ['Impersonate-Extra-scopes', 'x']],
    ['duplicates', ['Impersonate-User', 'a', 'Impersonate-User', 'b']],
    ['listed in Connection too', ['Connection', 'Impersonate-User', 'Impersonate-User', 'admin']],
  ];
  for (const [name, raw] of spoofs) {
    it(`never passes client impersonation on (checked-impersonation.ts decides): ${name}`, () => {
      const out = stripClientIdentity(req([...raw, 'Accept', 'x']), opts);
      assert.ok(out.every((v, i) => i % 2 === 1 || !v.toLowerCase().startsWith('impersonate-')), JSON.stringify(out));
      assert.deepEqual(out.slice(-2), ['Accept', 'x']);
    });
  }

  it('removes credentials and cookies, X-Remote-*, X-Forwarded-*, hop-by-hop and Connection-listed headers', () => {
    const out = stripClientIdentity(
      req([
        'Authorization', 'Bearer client',
        'Cookie', '__Secure-kubegate-session=kgt_x',
        'X-Remote-User', 'admin',
        'x-remote-group', 'system:masters',
        'X-Forwarded-For', '1.2.3.4',
        'Connection', 'keep-alive, X-Secret-Hop',
        'X-Secret-Hop', 'x',
        'Keep-Alive', 'timeout=5',
        'Transfer-Encoding', 'chunked',
        'Proxy-Authorization', 'Basic x',
        'Host', 'gateway',
        'Accept', 'application/json',
        'User-Agent', 'kubectl',
      ]),
      opts,
    );
    assert.deepEqual(names(out), ['accept', 'user-agent']);
  });

  it('keeps X-Forwarded-* from a trusted proxy', () => {
    const out = stripClientIdentity(req(['X-Forwarded-For', '1.2.3.4']), { trustForwarded: true, upgrade: false });
    assert.deepEqual(out, ['X-Forwarded-For', '1.2.3.4']);
  });

  it('keeps every X-Stream-Protocol-Version line and re-adds the upgrade headers', () => {
    const out = stripClientIdentity(
      req([
        'Connection', 'Upgrade',
        'Upgrade', 'SPDY/3.1',
        'X-Stream-Protocol-Version', 'v4.channel.k8s.io',
        'X-Stream-Protocol-Version', 'v3.channel.k8s.io',
      ]),
      { trustForwarded: false, upgrade: true },
    );
    assert.deepEqual(out, [
      'X-Stream-Protocol-Version', 'v4.channel.k8s.io',
      'X-Stream-Protocol-Version', 'v3.channel.k8s.io',
      'Connection', 'Upgrade',
      'Upgrade', 'SPDY/3.1',
    ]);
  });

  it('removes the bearer subprotocol but keeps the others', () => {
    const p = `base64url.bearer.authorization.k8s.io.${Buffer.from('tok').toString('base64url')}`;
    const out = stripClientIdentity(req(['Sec-WebSocket-Protocol', `v5.channel.k8s.io, ${p}, v4.channel.k8s.io`]), opts);
    assert.deepEqual(out, ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io, v4.channel.k8s.io']);
  });
});

describe('impersonate', () => {
  const identity: UserIdentity = {
    kind: 'user',
    userId: 'u-abc',
    username: 'alice',
    groups: ['dev', 'ops, with comma'],
    admin: false,
    token: { id: 't-xyz', kind: 'api', clusterId: null, expiresAt: null },
    clusterRoles: new Map(),
  };
  const route = { id: 'prod', host: 'cluster:6443', credentialHeader: ['Authorization', 'Bearer gw'] } as unknown as ClusterRoute;

  it('puts the gateway credential and one Impersonate-Group line per group before the client headers (docs/reference/identity.md)', () => {
    assert.deepEqual(impersonate(['Accept', 'x'], identity, route), [
      'Host', 'cluster:6443',
      'Authorization', 'Bearer gw',
      'Impersonate-User', 'alice',
      'Impersonate-Uid', 'u-abc',
      'Impersonate-Group', 'dev',
      'Impersonate-Group', 'ops, with comma',
      'Impersonate-Group', 'kubegate:authenticated',
      'Impersonate-Extra-kubegate.io%2Ftoken-id', 't-xyz',
      'Accept', 'x',
    ]);
  });

  it('reuses the computed header set for the same identity', () => {
    assert.equal(impersonationHeaders(identity, 'prod'), impersonationHeaders(identity, 'prod'));
  });
});
