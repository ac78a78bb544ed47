/** The user a cluster sees, the same on both doors (docs/reference/identity.md). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kubeUserOf } from '../../src/auth/kube-user.js';

const user = (groups: string[]) => kubeUserOf({ userId: 'u', username: 'a', groups, token: { id: 't' } });

describe('kubeUserOf', () => {
  it('carries username, uid, groups and the token id as an extra', () => {
    assert.deepEqual(kubeUserOf({ userId: 'u-1', username: 'alice', groups: ['dev', 'ops'], token: { id: 't-abc' } }), {
      username: 'alice',
      uid: 'u-1',
      groups: ['dev', 'ops', 'kubegate:authenticated'],
      extra: { 'kubegate.io/token-id': ['t-abc'] },
    });
  });

  it('puts kubegate:authenticated last exactly once, as the gateway does', () => {
    assert.deepEqual(user(['kubegate:authenticated', 'x']).groups, ['x', 'kubegate:authenticated']);
    assert.deepEqual(user([]).groups, ['kubegate:authenticated']);
  });
});
