/** `/v1/clusters` and `/v1/clusters/{id}/members` (docs/reference/api.md): registration, reach, membership. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCa, signLeaf } from '../../src/tls/certificates.js';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertApiError, putMember, registerCluster, TOKEN_PATTERN } from './fixtures.js';

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');

describe('clusters API', () => {
  let gw: TestGateway;
  let admin: string;
  let alice: string; // member of "alpha" directly
  let bob: string; // member of "beta" through group "ops"
  let olga: string; // owner of "alpha"
  let nobody: string; // member of nothing
  let caPem: string;
  let clientCert: { certPem: string; keyPem: string };
  const credentialSecrets: string[] = [];

  before(async () => {
    gw = await startTestGateway();
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
    await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
    await createUser(gw, admin, { username: 'bob', password: 'bob-password', groups: ['ops'] });
    await createUser(gw, admin, { username: 'olga', password: 'olga-password' });
    await createUser(gw, admin, { username: 'nobody', password: 'nobody-password' });
    [alice, bob, olga, nobody] = await Promise.all([
      login(gw, 'alice', 'alice-password'),
      login(gw, 'bob', 'bob-password'),
      login(gw, 'olga', 'olga-password'),
      login(gw, 'nobody', 'nobody-password'),
    ]);
    const ca = await createCa('test-cluster-ca');
    caPem = ca.certPem;
    clientCert = await signLeaf(ca, { commonName: 'kubegate-gateway', usage: 'client', organizations: ['system:masters'] });
    // A cluster nobody but admins reach (the registrations under test are alpha and beta).
    credentialSecrets.push('sa-secret-of-gamma');
    await registerCluster(gw, admin, 'gamma');
  });
  after(async () => {
    await gw.stop();
  });

  /** Every cluster GET answer the caller can see, as one text, for credential scanning. */
  async function everyGetText(token: string): Promise<string> {
    const list = await call(gw, 'GET', '/v1/clusters', { token });
    const texts = [list.text];
    for (const c of list.body.items as { id: string }[]) {
      texts.push((await call(gw, 'GET', `/v1/clusters/${c.id}`, { token })).text);
      const members = await call(gw, 'GET', `/v1/clusters/${c.id}/members`, { token });
      if (members.status === 200) texts.push(members.text);
    }
    return texts.join('\n');
  }

  describe('registration', () => {
    it('registers a cluster with a token credential: 201, agentToken once, no credential', async () => {
      const secret = 'sa-token-alpha-0123456789';
      credentialSecrets.push(secret);
      const res = await call(gw, 'POST', '/v1/clusters', {
        token: admin,
        body: { id: 'alpha', name: 'Alpha', server: 'https://10.0.0.1:6443', caData: b64(caPem), credential: { token: secret } },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.id, 'alpha');
      assert.equal(res.body.name, 'Alpha');
      assert.equal(res.body.server, 'https://10.0.0.1:6443');
      assert.equal(res.body.caData, b64(caPem));
      assert.equal(res.body.insecureSkipTLSVerify, false);
      assert.equal(res.body.credentialType, 'token');
      assert.deepEqual(res.body.authorizedEndpoint, { enabled: false, controlPlaneNodes: [] });
      assert.match(res.body.agentToken, TOKEN_PATTERN);
      assert.equal(res.body.credential, undefined);
      assert.equal(res.text.includes(secret), false, 'the credential token is not echoed');

      // The agent token is an agent: it cannot use the user API.
      assertApiError(await call(gw, 'GET', '/v1/me', { token: res.body.agentToken }), 403, 'Forbidden');
      assertApiError(await call(gw, 'GET', '/v1/clusters', { token: res.body.agentToken }), 403, 'Forbidden');
      // And it is never shown again.
      const again = await call(gw, 'GET', '/v1/clusters/alpha', { token: admin });
      assert.equal(again.body.agentToken, undefined);
      assert.equal(again.text.includes(res.body.agentToken), false, 'agent token not in GET');
    });

    it('registers a cluster with a client certificate credential', async () => {
      credentialSecrets.push(b64(clientCert.keyPem), b64(clientCert.certPem));
      const res = await call(gw, 'POST', '/v1/clusters', {
        token: admin,
        body: {
          id: 'beta',
          server: 'https://beta.example.com:6443/prefix',
          caData: b64(caPem),
          credential: { clientCertData: b64(clientCert.certPem), clientKeyData: b64(clientCert.keyPem) },
          authorizedEndpoint: { enabled: true, controlPlaneNodes: [{ name: 'cp-1', address: '10.0.0.5:6443' }, { name: 'cp-2', address: '10.0.0.6' }] },
        },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.name, 'beta', 'name defaults to the id');
      assert.equal(res.body.credentialType, 'clientCertificate');
      assert.deepEqual(res.body.authorizedEndpoint.controlPlaneNodes, [
        { name: 'cp-1', address: '10.0.0.5:6443' },
        { name: 'cp-2', address: '10.0.0.6' },
      ]);
      assert.match(res.body.agentToken, TOKEN_PATTERN);
      assert.equal(res.text.includes(b64(clientCert.keyPem)), false, 'the client key is not echoed');
      assert.equal(res.text.includes('PRIVATE KEY'), false, 'no key PEM in the answer');
    });

    it('answers 409 to a duplicate id', async () => {
      const res = await call(gw, 'POST', '/v1/clusters', {
        token: admin,
        body: { id: 'alpha', server: 'https://10.0.0.9:6443', credential: { token: 'x' } },
      });
      assertApiError(res, 409, 'Conflict');
      assert.equal((await call(gw, 'GET', '/v1/clusters/alpha', { token: admin })).body.server, 'https://10.0.0.1:6443');
    });

    it('is for admins only', async () => {
      const res = await call(gw, 'POST', '/v1/clusters', {
        token: olga,
        body: { id: 'rogue', server: 'https://10.0.0.9:6443', credential: { token: 'x' } },
      });
      assertApiError(res, 403, 'Forbidden');
      assertApiError(await call(gw, 'GET', '/v1/clusters/rogue', { token: admin }), 403, 'Forbidden');
    });

    const invalid: [string, Record<string, unknown>, RegExp][] = [
      ['an upper-case id', { id: 'Alpha2' }, /^id: /],
      ['an id with an underscore', { id: 'a_b' }, /^id: /],
      ['an id ending in a dash', { id: 'ab-' }, /^id: /],
      ['an id of 64 characters', { id: 'a'.repeat(64) }, /^id: /],
      ['a server that is not a URL', { server: 'not a url' }, /^server: /],
      ['a server with a query', { server: 'https://10.0.0.1:6443/?x=1' }, /^server: /],
      ['a server with credentials', { server: 'https://u:p@10.0.0.1:6443' }, /^server: /],
      ['a ftp server', { server: 'ftp://10.0.0.1' }, /^server: /],
      ['caData that is not base64 PEM', { caData: 'bm90IGEgY2VydGlmaWNhdGU=' }, /^caData: /],
      ['caData that is raw PEM', { caData: '-----BEGIN CERTIFICATE-----' }, /^caData: /],
      ['a credential with both shapes', { credential: { token: 't', clientCertData: 'YQ==', clientKeyData: 'YQ==' } }, /^credential/],
      ['an empty credential', { credential: {} }, /^credential/],
      ['a token credential with spaces', { credential: { token: 'a b' } }, /^credential/],
      ['a missing credential', { credential: undefined }, /^credential: /],
      ['an unknown field', { kubeconfig: 'x' }, /unknown field "kubeconfig"/],
      ['insecureSkipTLSVerify of the wrong type', { insecureSkipTLSVerify: 'true' }, /^insecureSkipTLSVerify: /],
      ['a node with a bad address', { authorizedEndpoint: { enabled: true, controlPlaneNodes: [{ name: 'cp', address: 'a b' }] } }, /^authorizedEndpoint\.controlPlaneNodes\.0\.address: /],
    ];
    for (const [what, override, message] of invalid) {
      it(`refuses ${what} with 400 naming the field`, async () => {
        const body = { id: 'valid-id', server: 'https://10.0.0.1:6443', credential: { token: 'tok' }, ...override };
        assertApiError(await call(gw, 'POST', '/v1/clusters', { token: admin, body }), 400, 'BadRequest', message);
      });
    }
  });

  describe('reach', () => {
    before(async () => {
      await putMember(gw, admin, 'alpha', 'user:alice');
      await putMember(gw, admin, 'alpha', 'user:olga', 'owner');
      await putMember(gw, admin, 'beta', 'group:ops');
    });

    const ids = async (token: string): Promise<string[]> => {
      const res = await call(gw, 'GET', '/v1/clusters', { token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body), ['items']);
      return res.body.items.map((c: { id: string }) => c.id).sort();
    };

    it('lists only the clusters the caller reaches (user: and group: members); admins see all', async () => {
      assert.deepEqual(await ids(alice), ['alpha']);
      assert.deepEqual(await ids(bob), ['beta']);
      assert.deepEqual(await ids(olga), ['alpha']);
      assert.deepEqual(await ids(nobody), []);
      assert.deepEqual(await ids(admin), ['alpha', 'beta', 'gamma']);
    });

    it('GET one: members read it; a non-member gets the same 403 as for an unknown id', async () => {
      const mine = await call(gw, 'GET', '/v1/clusters/alpha', { token: alice });
      assert.equal(mine.status, 200);
      assert.equal(mine.body.id, 'alpha');
      assert.equal(mine.body.role, 'member');
      assert.equal((await call(gw, 'GET', '/v1/clusters/alpha', { token: olga })).body.role, 'owner');
      assert.equal((await call(gw, 'GET', '/v1/clusters/beta', { token: bob })).status, 200);

      const notMine = await call(gw, 'GET', '/v1/clusters/gamma', { token: alice });
      const unknown = await call(gw, 'GET', '/v1/clusters/nope', { token: alice });
      assertApiError(notMine, 403, 'Forbidden');
      assertApiError(unknown, 403, 'Forbidden');
      assert.equal(notMine.body.error.message.replace('gamma', 'X'), unknown.body.error.message.replace('nope', 'X'));
      assertApiError(await call(gw, 'GET', '/v1/clusters/beta', { token: alice }), 403, 'Forbidden');
      assertApiError(await call(gw, 'GET', '/v1/clusters/alpha', { token: nobody }), 403, 'Forbidden');
    });

    it("shows the caller's role in the list and in GET one; an admin is owner everywhere", async () => {
      const roles = async (token: string) =>
        Object.fromEntries((await call(gw, 'GET', '/v1/clusters', { token })).body.items.map((c: { id: string; role: string }) => [c.id, c.role]));
      assert.deepEqual(await roles(alice), { alpha: 'member' });
      assert.deepEqual(await roles(olga), { alpha: 'owner' });
      assert.deepEqual(await roles(bob), { beta: 'member' });
      await putMember(gw, admin, 'alpha', 'user:admin', 'member');
      try {
        assert.deepEqual(await roles(admin), { alpha: 'owner', beta: 'owner', gamma: 'owner' });
        assert.equal((await call(gw, 'GET', '/v1/clusters/alpha', { token: admin })).body.role, 'owner');
      } finally {
        assert.equal((await call(gw, 'DELETE', '/v1/clusters/alpha/members/user:admin', { token: admin })).status, 204);
      }
    });

    it('follows membership changes at once', async () => {
      await putMember(gw, admin, 'gamma', 'group:ops');
      assert.deepEqual(await ids(bob), ['beta', 'gamma']);
      assert.equal((await call(gw, 'DELETE', '/v1/clusters/gamma/members/group:ops', { token: admin })).status, 204);
      assert.deepEqual(await ids(bob), ['beta']);
      assertApiError(await call(gw, 'GET', '/v1/clusters/gamma', { token: bob }), 403, 'Forbidden');
    });
  });

  describe('members', () => {
    it('an admin lists, adds and removes members', async () => {
      const list = await call(gw, 'GET', '/v1/clusters/alpha/members', { token: admin });
      assert.equal(list.status, 200);
      assert.deepEqual(
        [...list.body.items].sort((a: { principal: string }, b: { principal: string }) => a.principal.localeCompare(b.principal)),
        [
          { clusterId: 'alpha', principal: 'user:alice', role: 'member' },
          { clusterId: 'alpha', principal: 'user:olga', role: 'owner' },
        ],
      );
      const put = await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: admin, body: { principal: 'user:nobody', role: 'member' } });
      assert.equal(put.status, 200);
      assert.deepEqual(put.body, { clusterId: 'alpha', principal: 'user:nobody', role: 'member' });
      assert.equal((await call(gw, 'GET', '/v1/clusters/alpha', { token: nobody })).status, 200);
      assert.equal((await call(gw, 'DELETE', '/v1/clusters/alpha/members/user:nobody', { token: admin })).status, 204);
      assertApiError(await call(gw, 'GET', '/v1/clusters/alpha', { token: nobody }), 403, 'Forbidden');
      assertApiError(await call(gw, 'DELETE', '/v1/clusters/alpha/members/user:nobody', { token: admin }), 404, 'NotFound');
    });

    it('says so when a new member names nobody yet (a user no one is, a group no user holds), and adds it anyway', async () => {
      const ghost = await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: admin, body: { principal: 'user:ghost', role: 'member' } });
      assert.equal(ghost.status, 200, ghost.text);
      assert.match(ghost.body.notice, /^there is no user "ghost" yet: the membership applies once one is created/);
      const team = await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: admin, body: { principal: 'group:future-team', role: 'member' } });
      assert.match(team.body.notice, /^no user is in group "future-team" yet: groups may be added before anyone holds them/);
      const ops = await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: admin, body: { principal: 'group:ops', role: 'member' } });
      assert.equal(ops.body.notice, undefined, 'bob is in ops');
      for (const p of ['user:ghost', 'group:future-team', 'group:ops']) {
        assert.equal((await call(gw, 'DELETE', `/v1/clusters/alpha/members/${p}`, { token: admin })).status, 204);
      }
    });

    it('removes a principal whose name holds a slash when it is percent-encoded in the path', async () => {
      await putMember(gw, admin, 'alpha', 'group:team/platform');
      assert.equal((await call(gw, 'DELETE', `/v1/clusters/alpha/members/${encodeURIComponent('group:team/platform')}`, { token: admin })).status, 204);
      const members = await call(gw, 'GET', '/v1/clusters/alpha/members', { token: admin });
      assert.equal(members.text.includes('team/platform'), false, 'the group member is gone');
    });

    it('a cluster owner manages members of that cluster only', async () => {
      assert.equal((await call(gw, 'GET', '/v1/clusters/alpha/members', { token: olga })).status, 200);
      const put = await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: olga, body: { principal: 'group:ops', role: 'member' } });
      assert.equal(put.status, 200, put.text);
      assert.equal((await call(gw, 'GET', '/v1/clusters/alpha', { token: bob })).status, 200);
      assert.equal((await call(gw, 'DELETE', '/v1/clusters/alpha/members/group:ops', { token: olga })).status, 204);
      assertApiError(await call(gw, 'GET', '/v1/clusters/alpha', { token: bob }), 403, 'Forbidden');
      // Not an owner of beta.
      assertApiError(await call(gw, 'GET', '/v1/clusters/beta/members', { token: olga }), 403, 'Forbidden');
      assertApiError(
        await call(gw, 'PUT', '/v1/clusters/beta/members', { token: olga, body: { principal: 'user:olga', role: 'owner' } }),
        403,
        'Forbidden',
      );
    });

    it('a plain member cannot manage members (403)', async () => {
      assertApiError(await call(gw, 'GET', '/v1/clusters/alpha/members', { token: alice }), 403, 'Forbidden');
      assertApiError(
        await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: alice, body: { principal: 'user:alice', role: 'owner' } }),
        403,
        'Forbidden',
      );
      assertApiError(await call(gw, 'DELETE', '/v1/clusters/alpha/members/user:olga', { token: alice }), 403, 'Forbidden');
      assertApiError(await call(gw, 'GET', '/v1/clusters/beta/members', { token: bob }), 403, 'Forbidden');
      const members = await call(gw, 'GET', '/v1/clusters/alpha/members', { token: admin });
      assert.ok(members.body.items.some((m: { principal: string; role: string }) => m.principal === 'user:alice' && m.role === 'member'), 'alice is still a plain member');
      assert.ok(members.body.items.some((m: { principal: string }) => m.principal === 'user:olga'), 'olga is still there');
    });

    const badPrincipals: [string, unknown][] = [
      ['no kind', 'alice'],
      ['an unknown kind', 'role:admin'],
      ['an empty name', 'user:'],
      ['a reserved group', 'group:system:masters'],
      ['a control character in the name', 'user:a\tb'],
      ['spaces around the name', 'group: ops '],
      ['a name over 256 characters', `user:${'a'.repeat(257)}`],
      ['a number', 7],
    ];
    for (const [what, principal] of badPrincipals) {
      it(`refuses a principal with ${what} (400)`, async () => {
        const res = await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: admin, body: { principal, role: 'member' } });
        assertApiError(res, 400, 'BadRequest', /^principal: /);
      });
    }

    it('accepts the names an identity provider gives (issuer-prefixed users, groups with spaces and colons)', async () => {
      for (const principal of ['user:https://idp.example.com#alice', 'group:oidc:Platform Team', 'user:jane.doe@example.com']) {
        const res = await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: admin, body: { principal, role: 'member' } });
        assert.equal(res.status, 200, res.text);
        const gone = await call(gw, 'DELETE', `/v1/clusters/alpha/members/${encodeURIComponent(principal)}`, { token: admin });
        assert.equal(gone.status, 204, gone.text);
      }
    });

    it('refuses a bad role and a bad principal in the DELETE path (400)', async () => {
      assertApiError(
        await call(gw, 'PUT', '/v1/clusters/alpha/members', { token: admin, body: { principal: 'user:alice', role: 'admin' } }),
        400,
        'BadRequest',
        /^role: /,
      );
      assertApiError(await call(gw, 'DELETE', '/v1/clusters/alpha/members/nobody', { token: admin }), 400, 'BadRequest', /^principal: /);
    });
  });

  describe('change and delete', () => {
    it('PATCH (admin) changes fields and keeps the credential hidden', async () => {
      const secret = 'sa-token-alpha-rotated-987';
      credentialSecrets.push(secret);
      const res = await call(gw, 'PATCH', '/v1/clusters/alpha', {
        token: admin,
        body: { name: 'alpha-renamed', server: 'https://10.0.0.2:6443', credential: { token: secret } },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.name, 'alpha-renamed');
      assert.equal(res.body.server, 'https://10.0.0.2:6443');
      assert.equal(res.body.caData, b64(caPem), 'untouched fields are kept');
      assert.equal(res.text.includes(secret), false, 'the new credential is not echoed');
      assert.equal((await call(gw, 'GET', '/v1/clusters/alpha', { token: alice })).body.name, 'alpha-renamed');
    });

    it('PATCH validates, refuses non-admins (even owners) and answers 404 for an unknown id', async () => {
      assertApiError(await call(gw, 'PATCH', '/v1/clusters/alpha', { token: admin, body: { id: 'other' } }), 400, 'BadRequest', /unknown field "id"/);
      assertApiError(await call(gw, 'PATCH', '/v1/clusters/alpha', { token: admin, body: { server: 'nope' } }), 400, 'BadRequest', /^server: /);
      assertApiError(await call(gw, 'PATCH', '/v1/clusters/alpha', { token: admin, body: { caData: 'Zm9v' } }), 400, 'BadRequest', /^caData: /);
      assertApiError(await call(gw, 'PATCH', '/v1/clusters/alpha', { token: olga, body: { name: 'mine' } }), 403, 'Forbidden');
      assertApiError(await call(gw, 'PATCH', '/v1/clusters/alpha', { token: alice, body: { name: 'mine' } }), 403, 'Forbidden');
      assertApiError(await call(gw, 'PATCH', '/v1/clusters/nope', { token: admin, body: { name: 'x' } }), 404, 'NotFound');
      assert.equal((await call(gw, 'GET', '/v1/clusters/alpha', { token: admin })).body.name, 'alpha-renamed');
    });

    it('never shows a credential in any GET answer', async () => {
      for (const token of [admin, alice, bob, olga]) {
        const text = await everyGetText(token);
        for (const secret of credentialSecrets) assert.equal(text.includes(secret), false, `credential leaked to a GET answer`);
        assert.equal(/"credential"\s*:/.test(text), false, 'no credential field');
        assert.equal(text.includes('PRIVATE KEY'), false, 'no key material');
      }
    });

    it('DELETE is for admins only; afterwards the cluster and its scoped tokens are gone', async () => {
      await putMember(gw, admin, 'beta', 'user:olga', 'owner');
      assertApiError(await call(gw, 'DELETE', '/v1/clusters/beta', { token: olga }), 403, 'Forbidden');
      assertApiError(await call(gw, 'DELETE', '/v1/clusters/beta', { token: bob }), 403, 'Forbidden');
      const scoped = await login(gw, 'bob', 'bob-password', { clusterId: 'beta' });
      assert.equal((await call(gw, 'GET', '/v1/me', { token: scoped })).status, 200);

      assert.equal((await call(gw, 'DELETE', '/v1/clusters/beta', { token: admin })).status, 204);
      assertApiError(await call(gw, 'GET', '/v1/clusters/beta', { token: admin }), 403, 'Forbidden');
      assert.deepEqual((await call(gw, 'GET', '/v1/clusters', { token: bob })).body.items, []);
      assertApiError(await call(gw, 'GET', '/v1/me', { token: scoped }), 401, 'Unauthorized');
      assertApiError(await call(gw, 'DELETE', '/v1/clusters/beta', { token: admin }), 404, 'NotFound');
    });
  });
});
