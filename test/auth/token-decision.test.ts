/** The one token decision both doors make: `decide`, `admit` and `verifyToken`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthResult } from '../../src/auth/identity.js';
import { admit, decide, verifyToken, type TokenSubject } from '../../src/auth/token-decision.js';
import { issueToken, parseToken } from '../../src/auth/tokens.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const issued = issueToken();
const presented = parseToken(issued.token)!;

function subject(over: { token?: Partial<TokenSubject['token']>; user?: Partial<NonNullable<TokenSubject['user']>> | null } = {}): TokenSubject {
  const user =
    over.user === null
      ? null
      : { id: 'u-1', username: 'alice', groups: ['dev'], admin: false, enabled: true, clusterRoles: new Map<string, readonly string[]>([['prod', ['member']]]), ...over.user };
  return { token: { id: issued.id, kind: 'api', clusterId: null, expiresAt: null, secretHash: issued.secretHash, ...over.token }, user };
}

const reasonOf = (r: AuthResult) => (r.authenticated ? 'ok' : r.reason);

describe('decide', () => {
  const rows: [string, TokenSubject | undefined, string | undefined, string][] = [
    ['a good token', subject(), undefined, 'ok'],
    ['no such token', undefined, undefined, 'unknown'],
    ['a wrong secret', subject({ token: { secretHash: issueToken().secretHash } }), undefined, 'unknown'],
    ['an expired token (expiry is exclusive)', subject({ token: { expiresAt: NOW } }), undefined, 'expired'],
    ['a token expiring later', subject({ token: { expiresAt: NOW + 1 } }), undefined, 'ok'],
    ['a disabled owner', subject({ user: { enabled: false } }), undefined, 'user-disabled'],
    ['an owner gone', subject({ user: null }), undefined, 'no-owner'],
    ['an agent token without a cluster', subject({ token: { kind: 'agent' }, user: null }), undefined, 'no-owner'],
    ['an agent token', subject({ token: { kind: 'agent', clusterId: 'prod' }, user: null }), undefined, 'ok'],
    ['an agent token, for a cluster', subject({ token: { kind: 'agent', clusterId: 'prod' }, user: null }), 'prod', 'agent-token'],
    ['a member, for their cluster', subject(), 'prod', 'ok'],
    ['a member, for another cluster', subject(), 'dev', 'not-member'],
    ['an admin, for any cluster', subject({ user: { admin: true, clusterRoles: new Map() } }), 'dev', 'ok'],
    ['a token scoped to its cluster', subject({ token: { clusterId: 'prod' } }), 'prod', 'ok'],
    ['a token scoped elsewhere', subject({ token: { clusterId: 'prod' }, user: { admin: true } }), 'dev', 'wrong-cluster'],
  ];
  for (const [name, s, clusterId, expected] of rows) {
    it(`${name}: ${expected}`, () => assert.equal(reasonOf(decide(presented, s, NOW, clusterId)), expected));
  }

  it('gives the identity without the secret hash', () => {
    const r = decide(presented, subject(), NOW);
    assert.ok(r.authenticated && r.identity.kind === 'user');
    assert.deepEqual(r.identity.token, { id: issued.id, kind: 'api', clusterId: null, expiresAt: null });
    assert.equal(r.identity.username, 'alice');
    assert.equal(JSON.stringify(r).includes(issued.secretHash), false);
  });
});

describe('admit', () => {
  it('says why an identity may not be used for a cluster, or nothing', () => {
    const r = decide(presented, subject({ token: { clusterId: 'prod' } }), NOW);
    assert.ok(r.authenticated);
    assert.equal(admit(r.identity, 'prod'), undefined);
    assert.equal(admit(r.identity, 'dev'), 'wrong-cluster');
  });
});

describe('verifyToken', () => {
  it('refuses what is not a kubegate token without asking the source', () => {
    let asked = 0;
    const source = { find: () => (asked++, undefined) };
    assert.equal(reasonOf(verifyToken('eyJhbGciOiJSUzI1NiJ9.e30.sig', source, () => NOW) as AuthResult), 'malformed');
    assert.equal(asked, 0);
  });

  it('answers synchronously for a synchronous source and asynchronously for a store', async () => {
    const sync = verifyToken(issued.token, { find: () => subject() }, () => NOW);
    assert.equal(sync instanceof Promise, false);
    assert.equal(reasonOf(sync as AuthResult), 'ok');
    const later = verifyToken(issued.token, { find: async () => subject({ token: { expiresAt: NOW + 10 } }) }, () => NOW + 10);
    assert.ok(later instanceof Promise);
    assert.equal(reasonOf(await later), 'expired', 'the clock is read after the lookup');
  });
});
