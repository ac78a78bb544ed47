/**
 * Two gateway replicas on one PostgreSQL (docs/reference/tokens.md): a revocation made through replica A is
 * refused by replica B within 1 s even though B had the verdict cached; B survives losing its
 * LISTEN connection (clears its cache, listens again); and two replicas starting together on an
 * empty database create `admin` exactly once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { LISTENER_APPLICATION_NAME } from '../../src/auth/pg-revocation-bus.js';
import { bootstrapAdmin } from '../../src/bootstrap.js';
import { loadGatewayConfig } from '../../src/config/gateway-config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { call, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { listPods, pollUntil } from './support.js';

/** docs/reference/tokens.md: every replica within 1 s. */
const WITHIN_MS = 1_000;

let pg: TestPostgres;
before(async () => {
  pg = await startTestPostgres();
});
after(async () => {
  await pg?.destroy();
});

describe('revocation across two replicas', () => {
  let world: ProxyWorld;
  /** Replica A is the world's gateway; B shares its database. */
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    const url = await pg.createDatabase();
    world = await startProxyWorld({ flags: ['--database-url', url] });
    a = world.gw;
    // B starts after the cluster is registered, so its cluster directory holds it.
    b = await startTestGateway(['--database-url', url, '--encryption-key-file', join(world.gw.dir, 'data', 'encryption.key')]);
  });
  after(async () => {
    await b?.stop();
    await world?.stop();
  });

  /** Uses `token` on B twice and checks the second answer came from B's verdict cache. */
  async function cacheOnB(token: string): Promise<void> {
    assert.equal((await listPods(b, world.clusterId, token)).status, 200);
    const hits = b.cache.stats.hits;
    assert.equal((await listPods(b, world.clusterId, token)).status, 200);
    assert.ok(b.cache.stats.hits > hits, 'B answered from its verdict cache');
  }

  async function refusedOnB(token: string, status: number): Promise<void> {
    const polled = await pollUntil(() => listPods(b, world.clusterId, token), (r) => r.status !== 200, { timeoutMs: WITHIN_MS, everyMs: 50 });
    assert.ok(polled.ok, `B still accepted the token ${polled.elapsedMs} ms after the revocation on A`);
    assert.equal(polled.value.status, status, polled.value.text);
  }

  it('a token deleted through A is refused by B within 1 s', async () => {
    const alice = await memberUser(world, { username: 'alice' });
    await cacheOnB(alice.token);
    assert.equal((await call(a, 'DELETE', `/v1/tokens/${alice.tokenId}`, { token: world.adminToken })).status, 204);
    await refusedOnB(alice.token, 401);
  });

  it('a user disabled through A is refused by B within 1 s', async () => {
    const bob = await memberUser(world, { username: 'bob' });
    await cacheOnB(bob.token);
    const res = await call(a, 'PATCH', `/v1/users/${bob.id}`, { token: world.adminToken, body: { enabled: false } });
    assert.equal(res.status, 200, res.text);
    await refusedOnB(bob.token, 401);
  });

  it('a membership removed through A is refused by B within 1 s', async () => {
    const carol = await memberUser(world, { username: 'carol' });
    await cacheOnB(carol.token);
    const res = await call(a, 'DELETE', `/v1/clusters/${world.clusterId}/members/user:carol`, { token: world.adminToken });
    assert.equal(res.status, 204, res.text);
    await refusedOnB(carol.token, 403);
  });

  it('a watch open through B ends within 1 s of its token being deleted through A (issue 14)', async () => {
    const dave = await memberUser(world, { username: 'wanda' });
    const watch = request(new URL(`/k8s/clusters/${world.clusterId}/api/v1/namespaces/default/configmaps?watch=true`, b.url), { agent: b.agent, headers: { Authorization: `Bearer ${dave.token}` } });
    const closed = new Promise<void>((resolve) => {
      watch.on('response', (res) => {
        res.resume();
        res.on('close', () => resolve());
      });
      watch.on('error', () => resolve());
    });
    const answered = new Promise((resolve) => watch.once('response', resolve));
    watch.end();
    await answered;
    const deleted = await call(a, 'DELETE', `/v1/tokens/${dave.tokenId}`, { token: world.adminToken });
    assert.equal(deleted.status, 204);
    const ended = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(r, WITHIN_MS, false))]);
    assert.equal(ended, true, 'B ended the watch within 1 s');
    assert.ok(b.logs.some((l) => l.includes('ended an open stream after a revocation') && l.includes('token revoked')));
  });

  it("a webhook long-polling B's sync feed wakes for a token created through A", async () => {
    const registered = await call(a, 'POST', '/v1/clusters', {
      token: world.adminToken,
      body: { id: 'feed', server: 'https://127.0.0.1:1', insecureSkipTLSVerify: true, credential: { token: 'unused' } },
    });
    assert.equal(registered.status, 201, registered.text);
    const agent = registered.body.agentToken as string;
    const full = await call(b, 'GET', '/v1/clusters/feed/authn-sync', { token: agent });
    assert.equal(full.status, 200, full.text);
    const started = Date.now();
    const polling = call(b, 'GET', `/v1/clusters/feed/authn-sync?revision=${full.body.revision}&epoch=${full.body.epoch}&waitSeconds=10`, { token: agent });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const issued = await call(a, 'POST', '/v1/tokens', { token: world.adminToken, body: { clusterId: 'feed', description: 'direct door' } });
    assert.equal(issued.status, 201, issued.text);
    const page = await polling;
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(page.body.tokens.map((t: { id: string }) => t.id), [issued.body.tokenId]);
    // docs/reference/tokens.md: connected webhooks within 5 s. Creating a token announces nothing: B finds the new
    // revision by polling the shared store while a webhook waits (every second).
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
  });

  it('after its LISTEN connection is killed, B reconnects, clears its cache, and still hears revocations', async () => {
    const dave = await memberUser(world, { username: 'dave' });
    await cacheOnB(dave.token);
    assert.ok(b.cache.size() > 0);
    const reconnectsBefore = b.logs.filter((l) => l.includes('revocation listener reconnected')).length;

    const killed = await pg.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`, [LISTENER_APPLICATION_NAME]);
    assert.equal(killed.rowCount, 2, 'both replicas were listening');

    const reconnected = await pollUntil(
      async () => b.logs.filter((l) => l.includes('revocation listener reconnected')).length,
      (n) => n > reconnectsBefore,
      { timeoutMs: 5_000 },
    );
    assert.ok(reconnected.ok, 'B reconnected its listener');
    assert.equal(b.cache.size(), 0, 'B cleared its verdicts: revocations may have been missed meanwhile');

    await cacheOnB(dave.token);
    assert.equal((await call(a, 'DELETE', `/v1/tokens/${dave.tokenId}`, { token: world.adminToken })).status, 204);
    await refusedOnB(dave.token, 401);
  });
});

describe('first start of two replicas on an empty database', () => {
  it('bootstrapAdmin racing on three stores: one admin, one announcement, no failure', async () => {
    const url = await pg.createDatabase();
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url, { poolSize: 2 })));
    const announced: string[] = [];
    try {
      const log = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }));
      // All three count zero users before any has hashed its password: a real race on the insert.
      const results = await Promise.allSettled(stores.map((s) => bootstrapAdmin(s, log, undefined, (line) => announced.push(line))));
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled'], String(results.find((r) => r.status === 'rejected')?.reason));
      assert.equal(await stores[0]!.countUsers(), 1);
      assert.equal(announced.length, 1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('creates admin exactly once and announces its password once', async () => {
    const url = await pg.createDatabase();
    const dirs = await Promise.all([1, 2].map(() => mkdtemp(join(tmpdir(), 'kubegate-replica-'))));
    const announced: string[] = [];
    const start = (dir: string): Promise<Gateway> => {
      // No --admin-password: each replica would generate (and print) its own.
      const config = loadGatewayConfig(
        // Replicas share one encryption key file (both may generate it: the first to link it wins).
        ['--listen', '127.0.0.1:0', '--database-url', url, '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--audit-log', join(dir, 'audit.log'), '--shutdown-grace', '0s', '--log-level', 'silent', '--encryption-key-file', join(dirs[0]!, 'encryption.key')],
        {},
      );
      const quiet = new Writable({ write: (_c, _e, cb) => cb() });
      return startGateway(config, createLogger('silent', quiet), { announce: (line) => announced.push(line) });
    };
    // allSettled: a replica that failed to start must not leave the other one running.
    const settled = await Promise.allSettled(dirs.map(start));
    const replicas = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    try {
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
      const { rows } = await pg.query<{ n: number }>(`select count(*)::int as n from users where username = 'admin'`, [], url);
      assert.equal(rows[0]!.n, 1);
      assert.equal(announced.length, 1, 'one password, printed once');
      const password = /with password (\S+)/.exec(announced[0]!)![1]!;
      for (const gw of replicas) {
        const agent = new (await import('node:https')).Agent({ ca: gw.caPem });
        const res = await call({ url: gw.url, agent }, 'POST', '/v1/login', { body: { username: 'admin', password } });
        agent.destroy();
        assert.equal(res.status, 201, `login on ${gw.url}: ${res.text}`);
      }
    } finally {
      await Promise.all(replicas.map((gw) => gw.close()));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  });
});
