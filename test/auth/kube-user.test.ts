/** The user a cluster sees, the same on both doors (docs/reference/identity.md). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { kubeUserOf } from '../../src/auth/kube-user.js';

const roles = (entries: Array<[string, string[]]>) => new Map<string, readonly string[]>(entries);
const user = (groups: string[], extra: { admin?: boolean; clusterRoles?: ReadonlyMap<string, readonly string[]> } = {}) =>
  kubeUserOf({ userId: 'u', username: 'a', groups, admin: extra.admin ?? false, clusterRoles: extra.clusterRoles ?? new Map(), token: { id: 't' } }, 'prod');

describe('kubeUserOf', () => {
  it('carries username, uid, groups and the token id as an extra', () => {
    assert.deepEqual(kubeUserOf({ userId: 'u-1', username: 'alice', groups: ['dev', 'ops'], admin: false, clusterRoles: new Map(), token: { id: 't-abc' } }, 'prod'), {
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

  it('adds one kubegate:role:<role> group per role held on that cluster only', () => {
    const clusterRoles = roles([['prod', ['viewer', 'deployer']], ['dev', ['owner']]]);
    assert.deepEqual(user(['dev'], { clusterRoles }).groups, ['dev', 'kubegate:role:viewer', 'kubegate:role:deployer', 'kubegate:authenticated']);
    assert.deepEqual(user([], { clusterRoles: roles([['dev', ['owner']]]) }).groups, ['kubegate:authenticated']);
  });

  it('gives admins the owner role on every cluster', () => {
    assert.deepEqual(user([], { admin: true }).groups, ['kubegate:role:owner', 'kubegate:authenticated']);
    assert.deepEqual(user([], { admin: true, clusterRoles: roles([['prod', ['viewer']]]) }).groups, ['kubegate:role:owner', 'kubegate:role:viewer', 'kubegate:authenticated']);
  });

  it('drops role groups a user record or provider claims: only memberships give roles', () => {
    assert.deepEqual(user(['kubegate:role:owner', 'ops']).groups, ['ops', 'kubegate:authenticated']);
  });
});
