/** Operations (docs/reference/api.md): health, readiness, unknown paths, secret-free logs, and a restart on the same data. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { assertApiError, registerCluster } from './fixtures.js';

describe('operations endpoints', () => {
  let gw: TestGateway;
  let admin: string;
  let auditDir: string;
  let auditFile: string;

  before(async () => {
    auditDir = await mkdtemp(join(tmpdir(), 'kubegate-audit-'));
    auditFile = join(auditDir, 'audit.log');
    gw = await startTestGateway(['--audit-log', auditFile]);
    admin = await login(gw, 'admin', ADMIN_PASSWORD);
  });
  after(async () => {
    // The store was closed by the last test: stopping must still succeed.
    await gw.stop();
    await rm(auditDir, { recursive: true, force: true });
  });

  /** The audit file once it holds a line for `path` (it is written asynchronously). */
  async function auditText(path: string): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const text = await readFile(auditFile, 'utf8').catch(() => '');
      if (text.includes(`"path":"${path}"`)) return text;
      await sleep(20);
    }
    throw new Error(`no audit line for ${path}`);
  }

  it('GET /healthz answers 200 without a token', async () => {
    const res = await call(gw, 'GET', '/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
  });

  it('GET /readyz answers 200 while the store is reachable', async () => {
    const res = await call(gw, 'GET', '/readyz');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok');
  });

  it('answers an unknown path with 404 in the API error shape', async () => {
    assertApiError(await call(gw, 'GET', '/no/such/path'), 404, 'NotFound');
    assertApiError(await call(gw, 'POST', '/healthz'), 404, 'NotFound');
    assertApiError(await call(gw, 'GET', '/v1/no-such-endpoint', { token: admin }), 404, 'NotFound');
    assertApiError(await call(gw, 'DELETE', '/v1/users', { token: admin }), 404, 'NotFound');
  });

  it('writes no password, token or cluster credential into the logs', async () => {
    const userPassword = 'log-check-password-7';
    const wrongPassword = 'wrong-password-should-not-be-logged';
    const clusterSecret = 'sa-credential-must-not-be-logged';
    const newAdminPassword = 'rotated-admin-password-9';

    const session = await call(gw, 'POST', '/v1/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    assert.equal(session.status, 201);
    const userId = await createUser(gw, admin, { username: 'logcheck', password: userPassword });
    const userSession = await login(gw, 'logcheck', userPassword);
    const apiToken = await call(gw, 'POST', '/v1/tokens', { token: userSession, body: { description: 'ci' } });
    assert.equal(apiToken.status, 201);
    await call(gw, 'POST', '/v1/login', { body: { username: 'logcheck', password: wrongPassword } });
    await call(gw, 'POST', '/v1/login', { body: { username: 'no-such-user', password: wrongPassword } });
    const cluster = await registerCluster(gw, admin, 'logs', { credential: { token: clusterSecret } });
    assert.equal((await call(gw, 'PATCH', `/v1/users/${userId}`, { token: admin, body: { password: 'changed-password-1' } })).status, 200);
    assert.equal(
      (await call(gw, 'PATCH', '/v1/clusters/logs', { token: admin, body: { credential: { token: `${clusterSecret}-2` } } })).status,
      200,
    );
    const adminId = (await call(gw, 'GET', '/v1/me', { token: admin })).body.id;
    assert.equal((await call(gw, 'PATCH', `/v1/users/${adminId}`, { token: admin, body: { password: newAdminPassword } })).status, 200);
    // Calls with tokens in headers (success and failure) must not log them either.
    await call(gw, 'GET', '/v1/me', { token: apiToken.body.token });
    await call(gw, 'GET', '/v1/me', { token: `${apiToken.body.token.slice(0, -1)}x` });

    const logs = gw.logs.join('\n');
    const audit = await auditText('/v1/clusters/logs');
    assert.ok(gw.logs.length > 5, `expected log lines, got ${gw.logs.length}`);
    assert.match(audit, /"path":"\/v1\/login"/);
    assert.match(logs, /"msg":"login"/);
    assert.match(logs, /"msg":"user created"/);
    assert.match(logs, /"msg":"token created"/);
    assert.match(logs, /"msg":"cluster registered"/);
    const secrets: [string, string][] = [
      ['admin password', ADMIN_PASSWORD],
      ['new admin password', newAdminPassword],
      ['user password', userPassword],
      ['changed user password', 'changed-password-1'],
      ['wrong password', wrongPassword],
      ['cluster credential', clusterSecret],
      ['admin session token', session.body.token],
      ['admin session secret', session.body.token.split('.')[1]],
      ['user session token', userSession],
      ['api token', apiToken.body.token],
      ['api token secret', apiToken.body.token.split('.')[1]],
      ['agent token', cluster.body.agentToken],
      ['agent token secret', cluster.body.agentToken.split('.')[1]],
    ];
    for (const [what, secret] of secrets) {
      assert.equal(logs.includes(secret), false, `the ${what} is in the logs`);
      assert.equal(audit.includes(secret), false, `the ${what} is in the audit log`);
    }
    for (const text of [logs, audit]) {
      assert.equal(/kgt_t-/.test(text), false, 'no bearer token in the logs');
      assert.equal(/\$argon2/.test(text), false, 'no password hash in the logs');
    }
  });

  // Closes the store: keep last in this describe.
  it('GET /readyz answers 503 once the store is closed, /healthz still 200', async () => {
    await gw.store.close();
    const res = await call(gw, 'GET', '/readyz');
    assert.equal(res.status, 503);
    assert.equal(res.text, 'store unreachable');
    assert.equal((await call(gw, 'GET', '/healthz')).status, 200);
    // The API answers 503 in its error shape rather than crashing.
    assertApiError(await call(gw, 'POST', '/v1/login', { body: { username: 'admin', password: ADMIN_PASSWORD } }), 503, 'ServiceUnavailable');
  });
});

describe('shutdown', () => {
  it('answers /readyz with 503 while draining, before it stops listening', async () => {
    const gw = await startTestGateway(['--shutdown-grace', '1s']);
    assert.equal((await call(gw, 'GET', '/readyz')).status, 200);
    const stopping = gw.stop();
    try {
      const res = await call(gw, 'GET', '/readyz');
      assert.equal(res.status, 503);
      assert.equal(res.text, 'draining');
      assert.equal((await call(gw, 'GET', '/healthz')).status, 200);
    } finally {
      await stopping;
    }
    await assert.rejects(call(gw, 'GET', '/healthz'), { code: 'ECONNREFUSED' });
  });
});

describe('a second gateway on the same directory', () => {
  let dir: string;
  let first: TestGateway | undefined;
  let second: TestGateway | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-restart-'));
  });
  after(async () => {
    await first?.stop();
    await second?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reuses the generated certificates and the data, and does not create a second admin', async () => {
    first = await startTestGateway([], { dir });
    const admin = await login(first, 'admin', ADMIN_PASSWORD);
    await createUser(first, admin, { username: 'survivor', password: 'survivor-password' });
    await registerCluster(first, admin, 'kept');
    const caPem = first.caPem;
    const serverCrt = await readFile(join(dir, 'certs', 'server.crt'), 'utf8');
    const serverKey = await readFile(join(dir, 'certs', 'server.key'), 'utf8');
    assert.match(first.logs.join('\n'), /created the first administrator/);
    assert.match(first.logs.join('\n'), /generated the gateway CA/);
    await first.stop();
    first = undefined;

    // A different --admin-password on restart changes nothing: the store is not empty.
    second = await startTestGateway(['--admin-password', 'another-admin-password'], { dir });
    assert.ok(caPem, 'the first gateway made a CA');
    assert.equal(second.caPem, caPem);
    assert.equal(await readFile(join(dir, 'certs', 'ca.crt'), 'utf8'), caPem);
    assert.equal(await readFile(join(dir, 'certs', 'server.crt'), 'utf8'), serverCrt);
    assert.equal(await readFile(join(dir, 'certs', 'server.key'), 'utf8'), serverKey);
    const logs = second.logs.join('\n');
    assert.doesNotMatch(logs, /created the first administrator/);
    assert.doesNotMatch(logs, /generated the gateway CA/);

    // second.agent trusts the old CA: the TLS handshake itself proves the certificate was reused.
    const survivor = await login(second, 'survivor', 'survivor-password');
    assert.equal((await call(second, 'GET', '/v1/me', { token: survivor })).body.username, 'survivor');
    const secondAdmin = await login(second, 'admin', ADMIN_PASSWORD);
    assertApiError(await call(second, 'POST', '/v1/login', { body: { username: 'admin', password: 'another-admin-password' } }), 401, 'Unauthorized');
    const users = await call(second, 'GET', '/v1/users', { token: secondAdmin });
    assert.deepEqual(users.body.items.map((u: { username: string }) => u.username).sort(), ['admin', 'survivor']);
    const clusters = await call(second, 'GET', '/v1/clusters', { token: secondAdmin });
    assert.deepEqual(clusters.body.items.map((c: { id: string }) => c.id), ['kept']);
    // A token issued by the first gateway still works on the second.
    assert.equal((await call(second, 'GET', '/v1/me', { token: admin })).status, 200);
  });
});
