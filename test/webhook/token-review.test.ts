/** TokenReview parsing and answers (docs/reference/webhook.md). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kubeUserOf } from '../../src/auth/kube-user.js';
import { MalformedReviewError, parseTokenReview, tokenReviewResponse } from '../../src/webhook/token-review.js';

const reviewUser = (u: { id: string; username: string; groups: string[] }, tokenId: string) => kubeUserOf({ userId: u.id, username: u.username, groups: u.groups, admin: false, clusterRoles: new Map(), token: { id: tokenId } }, 'prod');

describe('parseTokenReview', () => {
  const cases: Array<{ name: string; body: unknown; version: string }> = [
    { name: 'v1', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'x' } }, version: 'authentication.k8s.io/v1' },
    { name: 'v1beta1', body: { apiVersion: 'authentication.k8s.io/v1beta1', kind: 'TokenReview', spec: { token: 'x' } }, version: 'authentication.k8s.io/v1beta1' },
    { name: 'empty apiVersion means v1beta1', body: { apiVersion: '', kind: 'TokenReview', spec: { token: 'x' } }, version: 'authentication.k8s.io/v1beta1' },
    { name: 'no apiVersion or kind', body: { spec: { token: 'x' } }, version: 'authentication.k8s.io/v1beta1' },
    {
      name: 'audiences and client-go empty fields',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: { token: 'x', audiences: ['https://kubernetes.default.svc'] }, status: { user: {} } },
      version: 'authentication.k8s.io/v1',
    },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => {
      assert.deepEqual(parseTokenReview(JSON.stringify(c.body)), { apiVersion: c.version, token: 'x' });
    });
  }

  const malformed: Array<[string, string]> = [
    ['not JSON', '{"spec":'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"token"'],
    ['another kind', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SubjectAccessReview', spec: { token: 'x' } })],
    ['another group', JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'TokenReview', spec: { token: 'x' } })],
    ['an unknown version', JSON.stringify({ apiVersion: 'authentication.k8s.io/v2', spec: { token: 'x' } })],
    ['no spec', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1' })],
    ['a spec that is not an object', JSON.stringify({ spec: 'x' })],
    ['a token that is not a string', JSON.stringify({ spec: { token: 42 } })],
    ['no token', JSON.stringify({ spec: {} })],
  ];
  for (const [name, body] of malformed) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseTokenReview(body), MalformedReviewError);
    });
  }
});

describe('tokenReviewResponse', () => {
  it('answers in the version asked, without the token', () => {
    for (const v of ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'] as const) {
      const body = JSON.parse(tokenReviewResponse(v, { authenticated: false, error: 'invalid token' }));
      assert.deepEqual(body, { apiVersion: v, kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: {}, status: { authenticated: false, error: 'invalid token' } });
    }
  });

  it('carries the user of docs/reference/identity.md', () => {
    const user = reviewUser({ id: 'u-1', username: 'alice', groups: ['dev', 'ops'] }, 't-abc');
    const body = JSON.parse(tokenReviewResponse('authentication.k8s.io/v1', { authenticated: true, user }));
    assert.deepEqual(body.status, {
      authenticated: true,
      user: { username: 'alice', uid: 'u-1', groups: ['dev', 'ops', 'kubegate:authenticated'], extra: { 'kubegate.io/token-id': ['t-abc'] } },
    });
  });

  it('writes exactly the JSON of the whole TokenReview, escapes included', () => {
    const user = reviewUser({ id: 'u-1', username: 'al"i\\ce\u2028é', groups: ['a"b'] }, 't-abc');
    for (const v of ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'] as const) {
      for (const status of [{ authenticated: true as const, user }, { authenticated: false as const, error: 'user is "disabled"' }]) {
        assert.equal(tokenReviewResponse(v, status), JSON.stringify({ apiVersion: v, kind: 'TokenReview', metadata: { creationTimestamp: null }, spec: {}, status }));
      }
    }
  });
});
