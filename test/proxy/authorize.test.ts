/** The authorize stage: who may reach which cluster through the gateway, and with what message. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Identity, UserIdentity } from '../../src/auth/identity.js';
import { GatewayError } from '../../src/errors.js';
import { authorizeCluster } from '../../src/proxy/authorize.js';
import type { ClusterRoute } from '../../src/upstream/cluster-directory.js';

const route = { id: 'prod' } as ClusterRoute;
const clusters = { get: (id: string) => (id === 'prod' || id === 'dev' ? route : undefined) };
const user = (extra: Partial<UserIdentity> = {}): UserIdentity => ({
  kind: 'user',
  userId: 'u-1',
  username: 'alice',
  groups: [],
  admin: false,
  token: { id: 't-1', kind: 'api', clusterId: null, expiresAt: null },
  clusterRoles: new Map([['prod', ['member']]]),
  ...extra,
});

function refusal(identity: Identity, clusterId: string): string | undefined {
  try {
    authorizeCluster(identity, clusterId, clusters);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.code, 403);
    return err.message;
  }
}

describe('authorizeCluster', () => {
  it('lets a member, an owner and an admin through, with the route', () => {
    assert.equal(authorizeCluster(user(), 'prod', clusters).route, route);
    assert.equal(refusal(user({ clusterRoles: new Map([['prod', ['owner']]]) }), 'prod'), undefined);
    assert.equal(refusal(user({ admin: true, clusterRoles: new Map() }), 'dev'), undefined);
  });

  it('refuses a non-member and an unknown cluster with the same message', () => {
    const notMember = refusal(user(), 'dev');
    const unknown = refusal(user({ admin: true }), 'nowhere');
    assert.equal(notMember, 'cluster "dev" does not exist or you are not a member of it');
    assert.equal(unknown, 'cluster "nowhere" does not exist or you are not a member of it');
  });

  it('refuses agent tokens and tokens scoped to another cluster, saying so', () => {
    const agent: Identity = { kind: 'agent', clusterId: 'prod', token: { id: 't-a', kind: 'agent', clusterId: 'prod', expiresAt: null } };
    assert.equal(refusal(agent, 'prod'), 'agent tokens cannot be used to reach a cluster');
    assert.equal(refusal(user({ token: { id: 't', kind: 'kubeconfig', clusterId: 'dev', expiresAt: null }, admin: true }), 'prod'), 'this token is scoped to another cluster');
    assert.equal(refusal(user({ token: { id: 't', kind: 'kubeconfig', clusterId: 'prod', expiresAt: null } }), 'prod'), undefined);
  });
});
