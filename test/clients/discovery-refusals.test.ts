/**
 * Issue 15, bug 4: when the gateway refuses discovery (the first thing kubectl asks), every kubectl
 * on this machine (1.27–1.33) prints the gateway's reason, not `Error from server (Forbidden):
 * unknown`: a user who may not reach the cluster, a token scoped to another cluster, an unknown
 * cluster, and a cluster refusing kubegate's own credential (bug 3's 502).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { call, login } from '../support/gateway.js';
import { gatewayKubeconfig, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { discoverKubectls, kubectlFor } from './kubectl-bin.js';

const binaries = await discoverKubectls();

describe('discovery refusals in kubectl', { timeout: 240_000 }, () => {
  let world: ProxyWorld;
  const files: Record<string, string> = {};

  before(async () => {
    world = await startProxyWorld();
    const b64 = Buffer.from(world.double.caPem).toString('base64');
    for (const [id, token] of [['other', world.double.gatewayToken], ['wrong', 'not-the-gateway-token']] as const) {
      const res = await call(world.gw, 'POST', '/v1/clusters', { token: world.adminToken, body: { id, server: world.double.url, caData: b64, credential: { token } } });
      assert.equal(res.status, 201, res.text);
    }
    const alice = await memberUser(world, { username: 'alice' });
    for (const id of ['wrong', 'other']) await call(world.gw, 'PUT', `/v1/clusters/${id}/members`, { token: world.adminToken, body: { principal: 'user:alice', role: 'member' } });
    const bob = await memberUser(world, { username: 'bob' }, 'none');
    const scoped = await login(world.gw, 'alice', alice.password, { clusterId: 'other' });
    files.notMember = await gatewayKubeconfig(world, bob.token, 'bob.yaml');
    files.otherScope = await gatewayKubeconfig(world, scoped, 'scoped.yaml');
    files.unknown = await gatewayKubeconfig({ ...world, clusterId: 'nope' }, alice.token, 'nope.yaml');
    files.wrongCredential = await gatewayKubeconfig({ ...world, clusterId: 'wrong' }, alice.token, 'wrong.yaml');
  });
  after(() => world?.stop());

  it('found kubectl binaries', () => assert.ok(binaries.length > 0));

  for (const binary of binaries) {
    it(`kubectl ${binary.label} (${binary.gitVersion}) get pods shows the gateway's reason`, async (t) => {
      const home = join(world.gw.dir, `home-${binary.minor}-${binary.path.replace(/\W/g, '')}`);
      await mkdir(home, { recursive: true });
      const cases: Array<[keyof typeof files, RegExp]> = [
        ['notMember', /Error from server \(Forbidden\): cluster "double" does not exist or you are not a member of it$/],
        ['otherScope', /Error from server \(Forbidden\): this token is scoped to another cluster$/],
        ['unknown', /Error from server \(Forbidden\): cluster "nope" does not exist or you are not a member of it$/],
        ['wrongCredential', /kubegate's own credential for cluster 'wrong' was refused by its API server \(401 Unauthorized\): it is wrong or expired; ask an administrator to renew it/],
      ];
      for (const [name, expected] of cases) {
        const r = await kubectlFor(binary, files[name]!, home).run(['get', 'pods']);
        assert.notEqual(r.code, 0, name);
        const last = r.stderr.trim().split('\n').at(-1)!;
        assert.doesNotMatch(r.stderr, /\bunknown\b/, `${name}: ${last}`);
        assert.match(last, expected, `${name}: ${last}`);
        t.diagnostic(`${name}: ${last}`);
      }
    });
  }
});
