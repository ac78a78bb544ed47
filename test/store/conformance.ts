/**
 * The behaviour every `Store` implementation shares. Each adapter's test file calls
 * `runStoreConformance` with a factory that returns a fresh, empty store.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError, type Reason } from '../../src/errors.js';
import type { NewCluster, NewToken, NewUser, Store, TokenRecord } from '../../src/store/store.js';
import { KeyRing, type CredentialSealer } from '../../src/store/credential-sealer.js';

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

function newUser(username: string, extra: Partial<NewUser> = {}): NewUser {
  return { id: `u-${username}`, username, passwordHash: HASH, groups: ['zeta', 'alpha'], admin: false, enabled: true, source: 'local', subject: null, ...extra };
}

function newToken(id: string, extra: Partial<NewToken> = {}): NewToken {
  return { id, kind: 'api', userId: 'u-alice', clusterId: null, description: `token ${id}`, secretHash: 'ab'.repeat(32), expiresAt: null, ...extra };
}

const tokenCluster: NewCluster = {
  id: 'c-prod',
  name: 'prod',
  connection: 'direct',
  server: 'https://10.0.0.1:6443',
  caData: 'LS0tLS1CRUdJTi1DQQ==',
  insecureSkipTLSVerify: false,
  credential: { token: 'sa-token-secret' },
  authorizedEndpoint: {
    enabled: true,
    fqdn: 'prod.example.com',
    caData: 'LS0tLS1BRS1DQQ==',
    controlPlaneNodes: [
      { name: 'cp-2', address: '10.0.0.12:6443' },
      { name: 'cp-1', address: '10.0.0.11:6443' },
    ],
  },
};

/** A cluster reached through its agent: no server, no credential. */
const agentCluster: NewCluster = {
  id: 'c-edge',
  name: 'edge',
  connection: 'agent',
  server: '',
  insecureSkipTLSVerify: false,
  credential: null,
  authorizedEndpoint: { enabled: false, controlPlaneNodes: [] },
};

const certCluster: NewCluster = {
  id: 'c-dev',
  name: 'dev',
  connection: 'direct',
  server: 'https://dev.example.com',
  insecureSkipTLSVerify: true,
  credential: { clientCertData: 'LS0tQ0VSVA==', clientKeyData: 'LS0tS0VZ' },
  authorizedEndpoint: { enabled: false, controlPlaneNodes: [] },
};

async function rejectsWith(promise: Promise<unknown>, reason: Reason, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    if (message) assert.match(err.message, message);
    return true;
  });
}

function assertBetween(date: Date | null | undefined, from: number, to: number): void {
  assert.ok(date instanceof Date, `expected a Date, got ${String(date)}`);
  assert.ok(date.getTime() >= from && date.getTime() <= to, `${date.toISOString()} outside [${from}, ${to}]`);
}

const ids = (tokens: TokenRecord[]): string[] => tokens.map((t) => t.id);

/** Registers node:test suites checking `open()`'s store against the `Store` contract. */
export function runStoreConformance(name: string, open: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('users', () => {
      it('creates a user and reads it back without its password hash', async () => {
        const before = Date.now();
        const created = await store.createUser(newUser('alice', { admin: true }));
        assertBetween(created.createdAt, before, Date.now());
        assert.deepEqual(created.updatedAt, created.createdAt);
        assert.ok(!('passwordHash' in created));
        const { passwordHash: _, ...expected } = newUser('alice', { admin: true });
        assert.deepEqual(created, { ...expected, createdAt: created.createdAt, updatedAt: created.updatedAt });
        assert.deepEqual(await store.getUser('u-alice'), created);
        assert.equal(await store.getUser('u-nobody'), undefined);
      });

      it('returns the password hash only by username, whatever its letter case', async () => {
        const created = await store.createUser(newUser('alice'));
        assert.deepEqual(await store.getUserByUsername('alice'), { ...created, passwordHash: HASH });
        assert.deepEqual(await store.getUserByUsername('ALICE'), { ...created, passwordHash: HASH });
        assert.equal(await store.getUserByUsername('alicia'), undefined);
        assert.ok(!('passwordHash' in (await store.listUsers())[0]!));
      });

      it('keeps groups in order, including none', async () => {
        await store.createUser(newUser('alice', { groups: ['zeta', 'alpha', 'mid'] }));
        await store.createUser(newUser('bob', { groups: [] }));
        assert.deepEqual((await store.getUser('u-alice'))?.groups, ['zeta', 'alpha', 'mid']);
        assert.deepEqual((await store.getUser('u-bob'))?.groups, []);
      });

      it('rejects a duplicate username or id with Conflict', async () => {
        await store.createUser(newUser('alice'));
        await rejectsWith(store.createUser(newUser('alice', { id: 'u-other' })), 'Conflict', /user "alice" already exists/);
        // Issue 14: usernames are unique whatever their letter case, on create and on rename.
        await rejectsWith(store.createUser(newUser('Alice', { id: 'u-other' })), 'Conflict', /user "Alice" already exists/);
        await store.createUser(newUser('bob'));
        await rejectsWith(store.updateUser('u-bob', { username: 'ALICE' }), 'Conflict', /already exists/);
        await store.deleteUser('u-bob');
        await rejectsWith(store.createUser(newUser('carol', { id: 'u-alice' })), 'Conflict', /u-alice/);
        assert.equal(await store.countUsers(), 1);
        assert.equal((await store.getUser('u-alice'))?.username, 'alice');
      });

      it('lists and counts users', async () => {
        assert.deepEqual(await store.listUsers(), []);
        assert.equal(await store.countUsers(), 0);
        await store.createUser(newUser('bob'));
        await store.createUser(newUser('alice'));
        const names = (await store.listUsers()).map((u) => u.username).sort();
        assert.deepEqual(names, ['alice', 'bob']);
        assert.equal(await store.countUsers(), 2);
      });

      it('patches only the given fields and bumps updatedAt', async () => {
        const created = await store.createUser(newUser('alice'));
        await sleep(5);
        const updated = await store.updateUser('u-alice', { groups: ['ops'], enabled: false, passwordHash: 'new-hash' });
        assert.ok(updated);
        assert.deepEqual(updated.groups, ['ops']);
        assert.equal(updated.enabled, false);
        assert.equal(updated.admin, false);
        assert.equal(updated.username, 'alice');
        assert.deepEqual(updated.createdAt, created.createdAt);
        assert.ok(updated.updatedAt.getTime() > created.updatedAt.getTime());
        assert.deepEqual(await store.getUser('u-alice'), updated);
        assert.equal((await store.getUserByUsername('alice'))?.passwordHash, 'new-hash');
        assert.equal((await store.updateUser('u-alice', { admin: true }))?.enabled, false);
        assert.equal(await store.updateUser('u-nobody', { admin: true }), undefined);
      });

      it('records where a user comes from: local unless said otherwise, or oidc:<issuer> with the subject', async () => {
        const { source: _s, subject: _j, ...plain } = newUser('alice');
        assert.deepEqual([(await store.createUser(plain)).source, (await store.getUser('u-alice'))?.subject], ['local', null]);
        const sso = await store.createUser(newUser('bob', { id: 'u-oidc-bob', passwordHash: '', source: 'oidc:https://idp.example.com', subject: 'sub|42' }));
        assert.deepEqual([sso.source, sso.subject], ['oidc:https://idp.example.com', 'sub|42']);
        assert.deepEqual(await store.getUser('u-oidc-bob'), sso);
        assert.deepEqual((await store.listUsers()).map((u) => u.source), ['local', 'oidc:https://idp.example.com']);
        await store.createToken(newToken('t-bob', { userId: 'u-oidc-bob' }));
        assert.equal((await store.getTokenVerdict('t-bob'))?.user?.source, 'oidc:https://idp.example.com');
        assert.equal((await store.getUserByUsername('bob'))?.passwordHash, '');
      });

      it('renames a user (the provider renamed them); a name already taken is a Conflict and changes nothing', async () => {
        await store.createUser(newUser('alice'));
        await store.createUser(newUser('bob'));
        assert.equal((await store.updateUser('u-alice', { username: 'alice.smith', groups: ['ops'] }))?.username, 'alice.smith');
        assert.equal((await store.getUserByUsername('alice.smith'))?.id, 'u-alice');
        assert.equal(await store.getUserByUsername('alice'), undefined);
        await rejectsWith(store.updateUser('u-alice', { username: 'bob', groups: ['dev'] }), 'Conflict', /user "bob" already exists/);
        const kept = await store.getUser('u-alice');
        assert.deepEqual([kept?.username, kept?.groups], ['alice.smith', ['ops']]);
      });

      it('deletes a user and their tokens', async () => {
        await store.createUser(newUser('alice'));
        await store.createUser(newUser('bob'));
        await store.createToken(newToken('t-alice'));
        await store.createToken(newToken('t-bob', { userId: 'u-bob' }));
        assert.equal(await store.deleteUser('u-alice'), true);
        assert.equal(await store.deleteUser('u-alice'), false);
        assert.equal(await store.getUser('u-alice'), undefined);
        assert.equal(await store.getToken('t-alice'), undefined);
        assert.equal(await store.getTokenVerdict('t-alice'), undefined);
        assert.deepEqual(ids(await store.listTokens({})), ['t-bob']);
      });
    });

    describe('tokens', () => {
      beforeEach(async () => {
        await store.createUser(newUser('alice'));
        await store.createCluster(tokenCluster);
      });

      it('creates a token and reads it back', async () => {
        const expiresAt = new Date(Date.now() + 3_600_123);
        const before = Date.now();
        const created = await store.createToken(newToken('t-1', { kind: 'kubeconfig', clusterId: 'c-prod', expiresAt }));
        assertBetween(created.createdAt, before, Date.now());
        assert.deepEqual(created, { ...newToken('t-1', { kind: 'kubeconfig', clusterId: 'c-prod', expiresAt }), createdAt: created.createdAt, lastUsedAt: null });
        assert.deepEqual(await store.getToken('t-1'), created);
        assert.equal(await store.getToken('t-none'), undefined);
      });

      it('rejects a duplicate id with Conflict and an unknown owner or cluster with NotFound', async () => {
        await store.createToken(newToken('t-1'));
        await rejectsWith(store.createToken(newToken('t-1', { description: 'again' })), 'Conflict', /t-1/);
        assert.equal((await store.getToken('t-1'))?.description, 'token t-1');
        await rejectsWith(store.createToken(newToken('t-2', { userId: 'u-ghost' })), 'NotFound', /u-ghost/);
        await rejectsWith(store.createToken(newToken('t-3', { clusterId: 'c-ghost' })), 'NotFound', /c-ghost/);
      });

      it('returns a verdict with the owner, or a null owner for agent tokens', async () => {
        const token = await store.createToken(newToken('t-user'));
        const agent = await store.createToken(newToken('t-agent', { kind: 'agent', userId: null, clusterId: 'c-prod' }));
        await store.updateUser('u-alice', { enabled: false });
        const verdict = await store.getTokenVerdict('t-user');
        assert.deepEqual(verdict, { token, user: await store.getUser('u-alice') });
        assert.equal(verdict?.user?.enabled, false);
        assert.ok(verdict?.user && !('passwordHash' in verdict.user));
        assert.deepEqual(await store.getTokenVerdict('t-agent'), { token: agent, user: null });
        assert.equal(await store.getTokenVerdict('t-none'), undefined);
      });

      it('lists tokens newest first, filtered by user, cluster and kind', async () => {
        await store.createUser(newUser('bob'));
        await store.createToken(newToken('t-a', { kind: 'session' }));
        await sleep(3);
        await store.createToken(newToken('t-b', { kind: 'kubeconfig', clusterId: 'c-prod' }));
        await sleep(3);
        await store.createToken(newToken('t-c', { kind: 'kubeconfig', userId: 'u-bob', clusterId: 'c-prod' }));
        await sleep(3);
        await store.createToken(newToken('t-d', { kind: 'agent', userId: null, clusterId: 'c-prod' }));
        assert.deepEqual(ids(await store.listTokens({})), ['t-d', 't-c', 't-b', 't-a']);
        assert.deepEqual(ids(await store.listTokens({ userId: 'u-alice' })), ['t-b', 't-a']);
        assert.deepEqual(ids(await store.listTokens({ clusterId: 'c-prod' })), ['t-d', 't-c', 't-b']);
        assert.deepEqual(ids(await store.listTokens({ kind: 'kubeconfig' })), ['t-c', 't-b']);
        assert.deepEqual(ids(await store.listTokens({ userId: 'u-bob', clusterId: 'c-prod', kind: 'kubeconfig' })), ['t-c']);
        assert.deepEqual(await store.listTokens({ userId: 'u-nobody' }), []);
        const [first] = await store.listTokens({ kind: 'session' });
        assert.deepEqual(first, await store.getToken('t-a'));
      });

      it('deletes a token', async () => {
        await store.createToken(newToken('t-1'));
        await store.createToken(newToken('t-2'));
        assert.equal(await store.deleteToken('t-1'), true);
        assert.equal(await store.deleteToken('t-1'), false);
        assert.equal(await store.getToken('t-1'), undefined);
        assert.deepEqual(ids(await store.listTokens({})), ['t-2']);
      });

      it("deletes a user's tokens: all, one kind, or all but one; others' stay", async () => {
        await store.createUser(newUser('bob'));
        for (const [id, kind] of [['t-s1', 'session'], ['t-s2', 'session'], ['t-api', 'api'], ['t-kc', 'kubeconfig']] as const) {
          await store.createToken(newToken(id, { kind, clusterId: kind === 'kubeconfig' ? 'c-prod' : null }));
        }
        await store.createToken(newToken('t-bob', { kind: 'session', userId: 'u-bob' }));
        assert.deepEqual((await store.deleteUserTokens('u-alice', { kind: 'session', exceptId: 't-s1' })).sort(), ['t-s2']);
        assert.deepEqual(ids(await store.listTokens({ userId: 'u-alice' })).sort(), ['t-api', 't-kc', 't-s1']);
        assert.deepEqual((await store.deleteUserTokens('u-alice', { kind: 'session' })).sort(), ['t-s1']);
        assert.deepEqual((await store.deleteUserTokens('u-alice')).sort(), ['t-api', 't-kc']);
        assert.deepEqual(await store.deleteUserTokens('u-alice'), []);
        assert.deepEqual(ids(await store.listTokens({})), ['t-bob']);
      });

      it('records last use for many tokens at once', async () => {
        await store.createToken(newToken('t-1'));
        await store.createToken(newToken('t-2'));
        await store.createToken(newToken('t-3'));
        const at1 = new Date('2030-01-02T03:04:05.678Z');
        const at2 = new Date('2030-01-02T03:04:06.001Z');
        await store.touchTokens(new Map([['t-1', at1], ['t-2', at2], ['t-gone', at2]]));
        await store.touchTokens(new Map());
        assert.deepEqual((await store.getToken('t-1'))?.lastUsedAt, at1);
        assert.deepEqual((await store.getToken('t-2'))?.lastUsedAt, at2);
        assert.equal((await store.getToken('t-3'))?.lastUsedAt, null);
        assert.deepEqual((await store.getTokenVerdict('t-2'))?.token.lastUsedAt, at2);
      });

      it('deletes only tokens that expired before now', async () => {
        const now = new Date('2030-06-01T00:00:00Z');
        await store.createToken(newToken('t-old', { expiresAt: new Date(now.getTime() - 60_000) }));
        await store.createToken(newToken('t-just', { expiresAt: new Date(now.getTime() - 1) }));
        await store.createToken(newToken('t-later', { expiresAt: new Date(now.getTime() + 60_000) }));
        await store.createToken(newToken('t-never'));
        assert.equal(await store.deleteExpiredTokens(now), 2);
        assert.deepEqual(ids(await store.listTokens({})).sort(), ['t-later', 't-never']);
        assert.equal(await store.deleteExpiredTokens(now), 0);
      });
    });

    describe('clusters', () => {
      it('round-trips both credential shapes and the authorized endpoint exactly', async () => {
        const before = Date.now();
        const prod = await store.createCluster(tokenCluster);
        const dev = await store.createCluster(certCluster);
        assertBetween(prod.createdAt, before, Date.now());
        assert.deepEqual(prod.updatedAt, prod.createdAt);
        assert.deepEqual(prod, { ...tokenCluster, createdAt: prod.createdAt, updatedAt: prod.updatedAt });
        assert.deepEqual(dev, { ...certCluster, createdAt: dev.createdAt, updatedAt: dev.updatedAt });
        assert.deepEqual(await store.getCluster('c-prod'), prod);
        assert.deepEqual(await store.getCluster('c-dev'), dev);
        assert.equal(await store.getCluster('c-none'), undefined);
        const listed = (await store.listClusters()).sort((a, b) => a.id.localeCompare(b.id));
        assert.deepEqual(listed, [dev, prod]);
      });

      it('rejects a duplicate id with Conflict', async () => {
        await store.createCluster(tokenCluster);
        await rejectsWith(store.createCluster({ ...certCluster, id: 'c-prod' }), 'Conflict', /cluster "c-prod" already exists/);
        assert.equal((await store.getCluster('c-prod'))?.name, 'prod');
      });

      it('patches only the given fields and bumps updatedAt', async () => {
        const created = await store.createCluster(tokenCluster);
        await sleep(5);
        const patch = {
          name: 'production',
          credential: { clientCertData: 'Q0VSVA==', clientKeyData: 'S0VZ' },
          authorizedEndpoint: { enabled: false, controlPlaneNodes: [{ name: 'cp-9', address: '10.0.0.19:6443' }] },
        };
        const updated = await store.updateCluster('c-prod', patch);
        assert.ok(updated);
        assert.ok(updated.updatedAt.getTime() > created.updatedAt.getTime());
        assert.deepEqual(updated, { ...tokenCluster, ...patch, createdAt: created.createdAt, updatedAt: updated.updatedAt });
        assert.deepEqual(await store.getCluster('c-prod'), updated);
        assert.equal(await store.updateCluster('c-none', { name: 'x' }), undefined);
      });

      it('clears caData when the patch sets it to undefined', async () => {
        await store.createCluster(tokenCluster);
        const updated = await store.updateCluster('c-prod', { caData: undefined, insecureSkipTLSVerify: true });
        assert.ok(updated && !('caData' in updated));
        assert.equal(updated.insecureSkipTLSVerify, true);
        assert.deepEqual(await store.getCluster('c-prod'), updated);
      });

      it('deletes a cluster with its members and scoped tokens', async () => {
        await store.createUser(newUser('alice'));
        await store.createCluster(tokenCluster);
        await store.createCluster(certCluster);
        await store.putMember({ clusterId: 'c-prod', principal: 'user:alice', role: 'owner' });
        await store.putMember({ clusterId: 'c-dev', principal: 'user:alice', role: 'member' });
        await store.createToken(newToken('t-prod', { kind: 'kubeconfig', clusterId: 'c-prod' }));
        await store.createToken(newToken('t-agent', { kind: 'agent', userId: null, clusterId: 'c-prod' }));
        await store.createToken(newToken('t-dev', { kind: 'kubeconfig', clusterId: 'c-dev' }));
        await store.createToken(newToken('t-api'));
        assert.equal(await store.deleteCluster('c-prod'), true);
        assert.equal(await store.deleteCluster('c-prod'), false);
        assert.equal(await store.getCluster('c-prod'), undefined);
        assert.deepEqual(await store.listMembers('c-prod'), []);
        assert.deepEqual(await store.membershipsOf(['user:alice']), [{ clusterId: 'c-dev', principal: 'user:alice', role: 'member' }]);
        assert.deepEqual(ids(await store.listTokens({})).sort(), ['t-api', 't-dev']);
        assert.equal(await store.getTokenVerdict('t-agent'), undefined);
      });
    });

    describe('agent clusters and their import', () => {
      it('round-trips an agent cluster without server or credential, and keeps the kind through a patch', async () => {
        const edge = await store.createCluster(agentCluster);
        assert.deepEqual(edge, { ...agentCluster, createdAt: edge.createdAt, updatedAt: edge.updatedAt });
        assert.deepEqual(await store.getCluster('c-edge'), edge);
        const renamed = await store.updateCluster('c-edge', { name: 'edge-1' });
        assert.equal(renamed?.connection, 'agent');
        assert.equal(renamed?.credential, null);
        assert.equal((await store.createCluster(tokenCluster)).connection, 'direct');
      });

      it('gives a pending import once, to the right secret only, before it expires', async () => {
        await store.createCluster(agentCluster);
        const now = new Date('2030-06-01T00:00:00Z');
        await store.setClusterImport('c-edge', { secretHash: 'h1', sealedToken: 'sealed-1', expiresAt: new Date(now.getTime() + 60_000) });
        assert.equal(await store.takeClusterImport('c-edge', 'wrong', now), undefined);
        assert.equal(await store.takeClusterImport('c-edge', 'h1', now), 'sealed-1');
        assert.equal(await store.takeClusterImport('c-edge', 'h1', now), undefined, 'used up');

        await store.setClusterImport('c-edge', { secretHash: 'h2', sealedToken: 'sealed-2', expiresAt: new Date(now.getTime() + 60_000) });
        await store.setClusterImport('c-edge', { secretHash: 'h3', sealedToken: 'sealed-3', expiresAt: new Date(now.getTime() + 60_000) });
        assert.equal(await store.takeClusterImport('c-edge', 'h2', now), undefined, 'replaced by the newer one');
        assert.equal(await store.takeClusterImport('c-edge', 'h3', new Date(now.getTime() + 60_000)), undefined, 'expired');

        await store.setClusterImport('c-edge', { secretHash: 'h4', sealedToken: 'sealed-4', expiresAt: new Date(now.getTime() + 60_000) });
        await store.setClusterImport('c-edge', null);
        assert.equal(await store.takeClusterImport('c-edge', 'h4', now), undefined, 'cleared');
      });

      it('hands a concurrent pair of takes the import only once', async () => {
        await store.createCluster(agentCluster);
        await store.setClusterImport('c-edge', { secretHash: 'h', sealedToken: 's', expiresAt: new Date(Date.now() + 60_000) });
        const got = await Promise.all(Array.from({ length: 4 }, () => store.takeClusterImport('c-edge', 'h', new Date())));
        assert.deepEqual(got.filter(Boolean), ['s']);
      });

      it('drops the import with its cluster, and refuses one for an unknown cluster', async () => {
        await store.createCluster(agentCluster);
        await store.setClusterImport('c-edge', { secretHash: 'h', sealedToken: 's', expiresAt: new Date(Date.now() + 60_000) });
        await store.deleteCluster('c-edge');
        await store.createCluster(agentCluster);
        assert.equal(await store.takeClusterImport('c-edge', 'h', new Date()), undefined);
        await rejectsWith(store.setClusterImport('c-ghost', { secretHash: 'h', sealedToken: 's', expiresAt: new Date() }), 'NotFound', /c-ghost/);
      });
    });

    describe('replica registry and shared secrets', () => {
      it('lists replicas heartbeating since a time, refreshes and removes them', async () => {
        const t0 = new Date('2030-06-01T00:00:00Z');
        await store.heartbeatReplica({ id: 'r-a', peerUrl: 'https://10.0.0.1:8443', heartbeatAt: t0 });
        await store.heartbeatReplica({ id: 'r-b', peerUrl: 'https://10.0.0.2:8443', heartbeatAt: new Date(t0.getTime() + 5_000) });
        assert.deepEqual((await store.listReplicas(t0)).map((r) => r.id), ['r-a', 'r-b']);
        assert.deepEqual(await store.listReplicas(new Date(t0.getTime() + 1)), [{ id: 'r-b', peerUrl: 'https://10.0.0.2:8443', heartbeatAt: new Date(t0.getTime() + 5_000) }]);
        await store.heartbeatReplica({ id: 'r-a', peerUrl: 'https://10.0.0.9:8443', heartbeatAt: new Date(t0.getTime() + 9_000) });
        assert.deepEqual((await store.listReplicas(new Date(t0.getTime() + 6_000))).map((r) => [r.id, r.peerUrl]), [['r-a', 'https://10.0.0.9:8443']]);
        assert.equal(await store.removeReplicas({ before: new Date(t0.getTime() + 6_000) }), 1);
        assert.equal(await store.removeReplicas({ id: 'r-a' }), 1);
        assert.deepEqual(await store.listReplicas(t0), []);
      });

      it('keeps the first value stored under a secret name', async () => {
        assert.equal(await store.ensureSecret('peer', 'first'), 'first');
        assert.equal(await store.ensureSecret('peer', 'second'), 'first');
        const raced = await Promise.all(['x', 'y', 'z'].map((v) => store.ensureSecret('other', v)));
        assert.equal(new Set(raced).size, 1);
      });
    });

    describe('members', () => {
      beforeEach(async () => {
        await store.createCluster(tokenCluster);
        await store.createCluster(certCluster);
      });

      it('adds a member and changes its role in place', async () => {
        assert.deepEqual(await store.putMember({ clusterId: 'c-prod', principal: 'user:alice', role: 'member' }), { clusterId: 'c-prod', principal: 'user:alice', role: 'member' });
        await store.putMember({ clusterId: 'c-prod', principal: 'group:ops', role: 'member' });
        assert.deepEqual(await store.putMember({ clusterId: 'c-prod', principal: 'user:alice', role: 'owner' }), { clusterId: 'c-prod', principal: 'user:alice', role: 'owner' });
        const members = (await store.listMembers('c-prod')).sort((a, b) => a.principal.localeCompare(b.principal));
        assert.deepEqual(members, [
          { clusterId: 'c-prod', principal: 'group:ops', role: 'member' },
          { clusterId: 'c-prod', principal: 'user:alice', role: 'owner' },
        ]);
        assert.deepEqual(await store.listMembers('c-dev'), []);
      });

      it('rejects a member of an unknown cluster with NotFound', async () => {
        await rejectsWith(store.putMember({ clusterId: 'c-ghost', principal: 'user:alice', role: 'owner' }), 'NotFound', /cluster "c-ghost" not found/);
        assert.deepEqual(await store.membershipsOf(['user:alice']), []);
      });

      it('deletes a member', async () => {
        await store.putMember({ clusterId: 'c-prod', principal: 'user:alice', role: 'owner' });
        await store.putMember({ clusterId: 'c-dev', principal: 'user:alice', role: 'owner' });
        assert.equal(await store.deleteMember('c-prod', 'user:alice'), true);
        assert.equal(await store.deleteMember('c-prod', 'user:alice'), false);
        assert.deepEqual(await store.listMembers('c-prod'), []);
        assert.equal((await store.listMembers('c-dev')).length, 1);
      });

      it('finds every membership of a set of principals across clusters', async () => {
        await store.putMember({ clusterId: 'c-prod', principal: 'user:alice', role: 'owner' });
        await store.putMember({ clusterId: 'c-dev', principal: 'group:ops', role: 'member' });
        await store.putMember({ clusterId: 'c-dev', principal: 'user:bob', role: 'owner' });
        const found = await store.membershipsOf(['user:alice', 'group:ops', 'group:none']);
        const sorted = found.sort((a, b) => a.clusterId.localeCompare(b.clusterId));
        assert.deepEqual(sorted, [
          { clusterId: 'c-dev', principal: 'group:ops', role: 'member' },
          { clusterId: 'c-prod', principal: 'user:alice', role: 'owner' },
        ]);
        assert.deepEqual(await store.membershipsOf([]), []);
        assert.deepEqual(await store.membershipsOf(['user:carol']), []);
      });
    });

    describe('custom roles', () => {
      it('creates, lists by name and deletes custom roles; a taken name is a Conflict', async () => {
        const before = Date.now();
        const deployer = await store.createRole({ name: 'deployer', clusterRole: 'edit' });
        assert.equal(deployer.name, 'deployer');
        assert.equal(deployer.clusterRole, 'edit');
        assertBetween(deployer.createdAt, before, Date.now());
        await store.createRole({ name: 'auditor', clusterRole: 'system:aggregate-to-view' });
        await rejectsWith(store.createRole({ name: 'deployer', clusterRole: 'admin' }), 'Conflict', /role "deployer" already exists/);
        const roles = await store.listRoles();
        assert.deepEqual(roles.map((r) => [r.name, r.clusterRole]), [['auditor', 'system:aggregate-to-view'], ['deployer', 'edit']]);
        assert.equal(roles[1]!.createdAt.getTime(), deployer.createdAt.getTime());
        assert.equal(await store.deleteRole('auditor'), true);
        assert.equal(await store.deleteRole('auditor'), false);
        assert.deepEqual((await store.listRoles()).map((r) => r.name), ['deployer']);
      });

      it('keeps a role while a membership holds it, and lets it go once none does', async () => {
        await store.createCluster(tokenCluster);
        await store.createRole({ name: 'deployer', clusterRole: 'edit' });
        await store.putMember({ clusterId: 'c-prod', principal: 'group:ops', role: 'deployer' });
        await rejectsWith(store.deleteRole('deployer'), 'Conflict', /role "deployer" is held by members/);
        assert.deepEqual((await store.listRoles()).map((r) => r.name), ['deployer']);
        assert.deepEqual(await store.membershipsOf(['group:ops']), [{ clusterId: 'c-prod', principal: 'group:ops', role: 'deployer' }]);
        await store.putMember({ clusterId: 'c-prod', principal: 'group:ops', role: 'viewer' });
        assert.equal(await store.deleteRole('deployer'), true);
      });
    });

    describe('change log', () => {
      const since = async (from: number, clusterId = 'c-prod') => {
        const { revision } = await store.getRevision();
        const changes = await store.listChanges({ clusterId, since: from, until: revision });
        assert.ok(changes, 'expected the changes to be retained');
        return { revision, changes: changes.map((c) => `${c.kind}:${c.key}:${c.clusterId ?? '-'}`) };
      };

      beforeEach(async () => {
        await store.createCluster(tokenCluster);
        await store.createCluster(certCluster);
      });

      it('starts at a stable epoch and bumps the revision once per changed row', async () => {
        const first = await store.getRevision();
        assert.match(first.epoch, /^\S{8,}$/);
        await store.createUser(newUser('alice'));
        await store.createToken(newToken('t-1', { kind: 'kubeconfig', clusterId: 'c-prod' }));
        await store.putMember({ clusterId: 'c-prod', principal: 'user:alice', role: 'member' });
        const after = await store.getRevision();
        assert.equal(after.epoch, first.epoch);
        assert.equal(after.revision, first.revision + 3);
        assert.deepEqual((await since(first.revision)).changes, ['user:u-alice:-', 'token:t-1:c-prod', 'member:user:alice:c-prod']);
      });

      it('records user changes that matter, and not password changes or last use', async () => {
        await store.createUser(newUser('alice'));
        await store.createToken(newToken('t-1', { kind: 'kubeconfig', clusterId: 'c-prod' }));
        const start = (await store.getRevision()).revision;
        await store.updateUser('u-alice', { passwordHash: 'other' });
        await store.touchTokens(new Map([['t-1', new Date()]]));
        await store.putMember({ clusterId: 'c-prod', principal: 'group:ops', role: 'member' });
        await store.putMember({ clusterId: 'c-prod', principal: 'group:ops', role: 'member' });
        assert.deepEqual((await since(start)).changes, ['member:group:ops:c-prod']);
        const mid = (await store.getRevision()).revision;
        await store.updateUser('u-alice', { enabled: false });
        await store.updateUser('u-alice', { groups: ['ops'] });
        await store.updateUser('u-alice', { admin: true });
        assert.deepEqual((await since(mid)).changes, ['user:u-alice:-', 'user:u-alice:-', 'user:u-alice:-']);
      });

      it('filters by cluster: its tokens and members, every user, no unscoped token', async () => {
        await store.createUser(newUser('alice'));
        const start = (await store.getRevision()).revision;
        await store.createToken(newToken('t-prod', { kind: 'kubeconfig', clusterId: 'c-prod' }));
        await store.createToken(newToken('t-dev', { kind: 'kubeconfig', clusterId: 'c-dev' }));
        await store.createToken(newToken('t-api'));
        await store.putMember({ clusterId: 'c-dev', principal: 'user:alice', role: 'owner' });
        await store.updateUser('u-alice', { groups: [] });
        assert.deepEqual((await since(start)).changes, ['token:t-prod:c-prod', 'user:u-alice:-']);
        assert.deepEqual((await since(start, 'c-dev')).changes, ['token:t-dev:c-dev', 'member:user:alice:c-dev', 'user:u-alice:-']);
        const { revision } = await store.getRevision();
        const window = await store.listChanges({ clusterId: 'c-prod', since: start, until: start + 1 });
        assert.deepEqual(window?.map((c) => c.key), ['t-prod']);
        assert.deepEqual(await store.listChanges({ clusterId: 'c-prod', since: revision, until: revision }), []);
      });

      it('records cascaded deletes of a user and of a cluster', async () => {
        await store.createUser(newUser('alice'));
        await store.createToken(newToken('t-1', { kind: 'kubeconfig', clusterId: 'c-prod' }));
        await store.createToken(newToken('t-2', { kind: 'session', clusterId: 'c-dev' }));
        await store.putMember({ clusterId: 'c-prod', principal: 'user:alice', role: 'member' });
        const start = (await store.getRevision()).revision;
        await store.deleteUser('u-alice');
        const afterUser = await since(start);
        assert.deepEqual(afterUser.changes.sort(), ['token:t-1:c-prod', 'user:u-alice:-']);
        await store.deleteCluster('c-prod');
        assert.deepEqual((await since(afterUser.revision)).changes, ['member:user:alice:c-prod']);
        await store.createUser(newUser('bob'));
        await store.createToken(newToken('t-3', { userId: 'u-bob', kind: 'api', clusterId: 'c-dev' }));
        const beforeExpiry = (await store.getRevision()).revision;
        await store.deleteExpiredTokens(new Date(Date.now() + 1000));
        await store.createToken(newToken('t-4', { userId: 'u-bob', kind: 'api', clusterId: 'c-dev', expiresAt: new Date(Date.now() - 1) }));
        await store.deleteExpiredTokens(new Date());
        assert.deepEqual((await since(beforeExpiry, 'c-dev')).changes, ['token:t-4:c-dev', 'token:t-4:c-dev']);
      });

      it('forgets pruned changes and then says the caller must start over', async () => {
        await store.createUser(newUser('alice'));
        const start = (await store.getRevision()).revision;
        await store.createToken(newToken('t-1', { kind: 'kubeconfig', clusterId: 'c-prod' }));
        assert.equal(await store.pruneChanges(new Date(Date.now() - 60_000)), 0);
        assert.ok(await store.listChanges({ clusterId: 'c-prod', since: 0, until: start + 1 }));
        assert.ok((await store.pruneChanges(new Date(Date.now() + 60_000))) >= 2);
        const { revision } = await store.getRevision();
        assert.equal(revision, start + 1, 'pruning keeps the revision');
        assert.equal(await store.listChanges({ clusterId: 'c-prod', since: start, until: revision }), undefined);
        assert.deepEqual(await store.listChanges({ clusterId: 'c-prod', since: revision, until: revision }), []);
        await store.deleteToken('t-1');
        assert.deepEqual((await since(revision)).changes, ['token:t-1:c-prod']);
      });
    });

    describe('settings and lifecycle', () => {
      it('stores, overwrites and returns settings', async () => {
        assert.deepEqual(await store.getSettings(), {});
        await store.putSetting('sessionTtl', '8h');
        await store.putSetting('title', 'Kube "gate"');
        await store.putSetting('sessionTtl', '12h');
        assert.deepEqual(await store.getSettings(), { sessionTtl: '12h', title: 'Kube "gate"' });
      });

      it('answers ping, and reports ServiceUnavailable once closed', async () => {
        await store.ping();
        await store.close();
        await store.close();
        await rejectsWith(store.ping(), 'ServiceUnavailable');
        await rejectsWith(store.getUser('u-alice'), 'ServiceUnavailable');
      });
    });
  });
}

/** One database that can be opened again with other keys, and read raw as a thief with a copy would. */
export interface ReopenableDatabase {
  open(sealer?: CredentialSealer): Promise<Store>;
  /** The stored text of a cluster's credential column. */
  rawCredential(clusterId: string): Promise<string>;
  /** Everything the database holds, as text (a dump or the file). */
  dump(): Promise<string>;
}

const ring = (...ids: string[]) => new KeyRing(ids.map((id) => ({ id, key: Buffer.alloc(32, id) })));

/** Encryption at rest of cluster credentials (issue 14, finding 4), on a fresh database per test. */
export function runEncryptionConformance(name: string, fresh: () => Promise<ReopenableDatabase>): void {
  describe(`Store conformance, credentials at rest: ${name}`, () => {
    it('the database alone holds no credential; the store reads it back', async () => {
      const db = await fresh();
      const store = await db.open(ring('k1'));
      try {
        await store.createCluster(tokenCluster);
        await store.createCluster(certCluster);
        await store.createCluster(agentCluster);
        await store.updateCluster('c-dev', { credential: { clientCertData: 'LS0tTkVXQ0VSVA==', clientKeyData: 'TkVXLUtFWS1TRUNSRVQ=' } });
        assert.deepEqual((await store.getCluster('c-prod'))?.credential, tokenCluster.credential);
        assert.deepEqual((await store.getCluster('c-dev'))?.credential, { clientCertData: 'LS0tTkVXQ0VSVA==', clientKeyData: 'TkVXLUtFWS1TRUNSRVQ=' });
        assert.equal((await store.getCluster('c-edge'))?.credential, null);
        assert.deepEqual((await store.listClusters()).map((c) => c.id).sort(), ['c-dev', 'c-edge', 'c-prod']);
      } finally {
        await store.close();
      }
      const dump = await db.dump();
      for (const secret of ['sa-token-secret', 'TkVXLUtFWS1TRUNSRVQ', 'LS0tS0VZ']) assert.ok(!dump.includes(secret), `${secret} is in the database`);
      assert.match(await db.rawCredential('c-prod'), /^"kgenc:v1:k1:/);
    });

    it('rotates: a second key opens old seals, re-encryption moves every credential to the active key, and the old key can go', async () => {
      const db = await fresh();
      const first = await db.open(ring('k1'));
      await first.createCluster(tokenCluster);
      await first.createCluster(agentCluster);
      await first.close();

      const both = await db.open(ring('k2', 'k1'));
      try {
        assert.deepEqual((await both.getCluster('c-prod'))?.credential, tokenCluster.credential);
        assert.equal(await both.reencryptCredentials({ onlyClear: true }), 0, 'start-up leaves other keys alone');
        assert.equal(await both.reencryptCredentials(), 1);
        assert.equal(await both.reencryptCredentials(), 0, 'nothing left');
      } finally {
        await both.close();
      }
      assert.match(await db.rawCredential('c-prod'), /^"kgenc:v1:k2:/);

      const only2 = await db.open(ring('k2'));
      try {
        assert.deepEqual((await only2.getCluster('c-prod'))?.credential, tokenCluster.credential);
      } finally {
        await only2.close();
      }
      const wrong = await db.open(ring('k3'));
      try {
        await rejectsWith(wrong.getCluster('c-prod'), 'ServiceUnavailable', /key "k2", which the encryption key file does not hold/);
      } finally {
        await wrong.close();
      }
    });

    it('seals shared secrets too: the database alone holds none, they survive a rotation, and clear ones are sealed', async () => {
      const db = await fresh();
      const clear = await db.open();
      assert.equal(await clear.ensureSecret('legacy-secret', 'legacy-value-0123456789'), 'legacy-value-0123456789');
      await clear.close();
      const first = await db.open(ring('k1'));
      assert.equal(await first.ensureSecret('peer-secret', 'peer-value-0123456789'), 'peer-value-0123456789');
      assert.equal(await first.ensureSecret('peer-secret', 'another-candidate'), 'peer-value-0123456789', 'the first value stays');
      assert.equal(await first.ensureSecret('legacy-secret', 'x'), 'legacy-value-0123456789', 'a clear value an older version stored still reads');
      assert.equal(await first.reencryptCredentials({ onlyClear: true }), 1);
      await first.close();
      const dump = await db.dump();
      assert.ok(!dump.includes('peer-value-0123456789') && !dump.includes('legacy-value-0123456789'), 'a secret is in the database');

      const both = await db.open(ring('k2', 'k1'));
      assert.equal(await both.reencryptCredentials(), 2);
      await both.close();
      const only2 = await db.open(ring('k2'));
      try {
        assert.equal(await only2.ensureSecret('peer-secret', 'x'), 'peer-value-0123456789');
        assert.equal(await only2.ensureSecret('legacy-secret', 'x'), 'legacy-value-0123456789');
      } finally {
        await only2.close();
      }
    });

    it('seals credentials an older version stored in clear', async () => {
      const db = await fresh();
      const clear = await db.open();
      await clear.createCluster(tokenCluster);
      await clear.createCluster({ ...certCluster, id: 'c-other' });
      await clear.close();
      assert.match(await db.rawCredential('c-prod'), /sa-token-secret/);

      const store = await db.open(ring('k1'));
      try {
        assert.equal(await store.reencryptCredentials({ onlyClear: true }), 2);
        assert.deepEqual((await store.getCluster('c-prod'))?.credential, tokenCluster.credential);
      } finally {
        await store.close();
      }
      assert.ok(!(await db.dump()).includes('sa-token-secret'));
    });
  });
}
