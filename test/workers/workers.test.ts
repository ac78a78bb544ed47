/**
 * `kubegate serve --workers 2` (issue 19), the built CLI on the embedded SQLite store in front of
 * the kube-apiserver double: both workers serve, a revocation or a new cluster made through one
 * holds in the other for the very next request, `/metrics` counts the whole gateway, the audit
 * file is one file holding both workers' lines, and SIGTERM drains every worker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startKubeDouble, type KubeDouble } from '../kube-double/index.js';
import { call, createUser, login } from '../support/gateway.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ADMIN_PASSWORD = 'admin-password-1';

interface Served {
  child: ChildProcess;
  url: string;
  agent: Agent;
  stdout: () => string;
  exited: Promise<number | null>;
}

/** Starts `kubegate serve --workers 2`; resolves once every worker listens. */
async function serveWorkers(dir: string, workers: number, extra: string[]): Promise<Served> {
  const args = ['bin/kubegate', 'serve', ...extra, '--workers', String(workers), '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--admin-password', ADMIN_PASSWORD, '--shutdown-grace', '0s', '--shutdown-timeout', '5s', '--audit-log', join(dir, 'audit.log')];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      stdout += c;
      const line = stdout.split('\n').find((l) => l.includes('listening with every worker'));
      if (line) resolve(JSON.parse(line).url);
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  const ca = await readFile(join(dir, 'certs', 'ca.crt'), 'utf8');
  // No keep-alive: every request is a new connection, which node:cluster hands to the next worker.
  return { child, url, agent: new Agent({ ca, keepAlive: false }), stdout: () => stdout, exited };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The audit file's lines once `check` holds (the primary writes batches every 250 ms). */
async function auditWhere(path: string, check: (lines: any[]) => boolean): Promise<any[]> {
  for (let i = 0; i < 500; i++) {
    const lines = (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    if (check(lines)) return lines;
    await wait(20);
  }
  assert.fail('audit lines did not arrive');
}

for (const store of ['SQLite', 'PostgreSQL'] as const) describe(`kubegate serve --workers 2 on ${store}`, () => {
  let dir: string;
  let postgres: TestPostgres | undefined;
  let double: KubeDouble;
  let gw: Served;
  let adminToken: string;
  let alice: { token: string; tokenId: string };
  const base = '/k8s/clusters/double';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-workers-'));
    double = await startKubeDouble();
    // On PostgreSQL the workers hear revocations through LISTEN/NOTIFY, as replicas do; on SQLite through the primary.
    if (store === 'PostgreSQL') postgres = await startTestPostgres();
    gw = await serveWorkers(dir, 2, postgres ? ['--database-url', await postgres.createDatabase()] : []);
    adminToken = await login(gw, 'admin', ADMIN_PASSWORD);
    const registered = await call(gw, 'POST', '/v1/clusters', {
      token: adminToken,
      body: { id: 'double', server: double.url, caData: Buffer.from(double.caPem).toString('base64'), credential: { token: double.gatewayToken } },
    });
    assert.equal(registered.status, 201, registered.text);
    await createUser(gw, adminToken, { username: 'alice', password: 'alice-password' });
    const member = await call(gw, 'PUT', '/v1/clusters/double/members', { token: adminToken, body: { principal: 'user:alice', role: 'member' } });
    assert.equal(member.status, 200, member.text);
    const res = await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } });
    alice = res.body;
  });
  after(async () => {
    if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    gw.agent.destroy();
    await double.stop();
    await postgres?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves from both workers, and writes their audit lines into one file', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await call(gw, 'GET', `${base}/api`, { token: alice.token })).status, 200);
    const lines = await auditWhere(join(dir, 'audit.log'), (ls) => ls.filter((l) => l.kind === 'proxy').length >= 10);
    assert.deepEqual(new Set(lines.filter((l) => l.kind === 'proxy').map((l) => l.worker)), new Set([1, 2]));
  });

  it("reports the whole gateway's metrics, whichever worker answers the scrape", async () => {
    const total = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('kubegate_proxy_requests_total{'))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    const before = total((await call(gw, 'GET', '/metrics', { token: adminToken })).text);
    for (let i = 0; i < 6; i++) await call(gw, 'GET', `${base}/api`, { token: alice.token });
    // Two scrapes: one of them lands on each worker, and both count all six.
    for (let i = 0; i < 2; i++) assert.equal(total((await call(gw, 'GET', '/metrics', { token: adminToken })).text) - before, 6);
  });

  it('a cluster registered through one worker is served by the other', async () => {
    const registered = await call(gw, 'POST', '/v1/clusters', {
      token: adminToken,
      body: { id: 'second', server: double.url, caData: Buffer.from(double.caPem).toString('base64'), credential: { token: double.gatewayToken } },
    });
    assert.equal(registered.status, 201, registered.text);
    await call(gw, 'PUT', '/v1/clusters/second/members', { token: adminToken, body: { principal: 'user:alice', role: 'member' } });
    // PostgreSQL: the NOTIFY may arrive a moment after the answer (within the contract's 1 s).
    let served = 0;
    const deadline = Date.now() + 1_000;
    while (served < 6 && (store === 'PostgreSQL' ? Date.now() < deadline : served >= 0)) {
      const status = (await call(gw, 'GET', '/k8s/clusters/second/api', { token: alice.token })).status;
      if (store === 'SQLite') assert.equal(status, 200);
      served = status === 200 ? served + 1 : 0;
    }
    assert.equal(served, 6);
  });

  it('a token revoked through one worker is refused by every worker within 1 s, although both cached it', async () => {
    // Both workers hold a cached verdict for the token (10 s by default).
    for (let i = 0; i < 6; i++) assert.equal((await call(gw, 'GET', `${base}/api`, { token: alice.token })).status, 200);
    assert.equal((await call(gw, 'POST', '/v1/logout', { token: alice.token })).status, 204);
    if (store === 'PostgreSQL') {
      // NOTIFY reaches the other worker's listening connection asynchronously (as between replicas):
      // wait until both refuse, bounded by the 1 s of the contract.
      const deadline = Date.now() + 1_000;
      let refused = 0;
      while (refused < 6 && Date.now() < deadline) refused = (await call(gw, 'GET', `${base}/api`, { token: alice.token })).status === 401 ? refused + 1 : 0;
      assert.equal(refused, 6, 'refused by both workers within 1 s');
      return;
    }
    // SQLite: the revocation reaches the primary before the answer does, and the primary passes it
    // on before it hands any later connection to a worker: no wait is needed.
    for (let i = 0; i < 6; i++) assert.equal((await call(gw, 'GET', `${base}/api`, { token: alice.token })).status, 401);
  });

  it('SIGTERM drains every worker: open watches end, and the primary exits 0 once all have', async () => {
    const { token } = (await call(gw, 'POST', '/v1/login', { body: { username: 'alice', password: 'alice-password' } })).body;
    const watches = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<{ closed: Promise<void> }>((resolve, reject) => {
            const r = request(new URL(`${base}/api/v1/namespaces/default/configmaps?watch=true`, gw.url), { agent: gw.agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
              assert.equal(res.statusCode, 200);
              res.resume();
              resolve({ closed: new Promise<void>((done) => res.once('close', () => done())) });
            });
            r.on('error', reject);
            r.end();
          }),
      ),
    );
    gw.child.kill('SIGTERM');
    await Promise.all(watches.map((w) => w.closed));
    assert.equal(await gw.exited, 0);
    assert.match(gw.stdout(), /"worker":1,"signal":"SIGTERM","msg":"shutting down"/);
    assert.match(gw.stdout(), /"worker":2,"signal":"SIGTERM","msg":"shutting down"/);
    const lines = await auditWhere(join(dir, 'audit.log'), (ls) => ls.filter((l) => l.verb === 'watch' && l.stage === 'end').length === 2);
    assert.deepEqual(new Set(lines.filter((l) => l.verb === 'watch' && l.stage === 'end').map((l) => l.worker)), new Set([1, 2]));
  });
});

describe('kubegate serve --workers 2, first start (issue 15, bug 6)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-workers-first-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs serve with a generated admin password until it exits, or until `until` matches its stderr (then SIGTERM). */
  function serve(listen: string, until?: RegExp): Promise<{ code: number | null; stderr: string }> {
    const args = ['bin/kubegate', 'serve', '--workers', '2', '--listen', listen, '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--shutdown-grace', '0s', '--shutdown-timeout', '5s', '--audit-log', join(dir, 'audit.log')];
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c) => {
      stderr += c;
      if (until?.test(stderr)) child.kill('SIGTERM');
    });
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  }

  it('a start whose workers cannot bind prints no password; the next start prints it once', async () => {
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as AddressInfo).port;
    const failed = await serve(`127.0.0.1:${port}`);
    squatter.close();
    assert.notEqual(failed.code, 0);
    assert.doesNotMatch(failed.stderr, /password/, 'no password shown for a start that failed');

    const started = await serve(`127.0.0.1:${port}`, /with password \S+/);
    const lines = started.stderr.split('\n').filter((l) => /created user "admin" with password/.test(l));
    assert.equal(lines.length, 1, 'exactly one worker created the administrator and showed its password');
  });
});
