/**
 * Issue 14, finding 4 (encryption at rest), end to end: the gateway's database file alone yields
 * no cluster credential; kubectl traffic still reaches the cluster with it; a key added at the
 * top of `--encryption-key-file` becomes active after a restart, `POST /v1/encryption/reencrypt`
 * moves every credential to it, and the old key can then be removed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newKeyLine } from '../../src/encryption-key-file.js';
import { startKubeDouble, type KubeDouble } from '../kube-double/index.js';
import { ADMIN_PASSWORD, call, login, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('cluster credentials at rest', () => {
  let dir: string;
  let double: KubeDouble;
  let gw: TestGateway | undefined;
  const data = () => join(dir, 'data');
  const keyFile = () => join(data(), 'encryption.key');
  const dbText = () => ['kubegate.db', 'kubegate.db-wal'].map((f) => join(data(), f)).filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-sealed-'));
    double = await startKubeDouble();
  });
  after(async () => {
    await gw?.stop();
    await double.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function reachesCluster(): Promise<void> {
    const admin = await login(gw!, 'admin', ADMIN_PASSWORD);
    double.clearRequests();
    const res = await call(gw!, 'GET', '/k8s/clusters/double/api/v1/namespaces', { token: admin });
    assert.equal(res.status, 200, res.text);
    assert.equal(double.requests.at(-1)?.authenticatedAs?.username, double.gatewayUser.username, 'the gateway credential reached the cluster');
  }

  it('generates a 0600 key on first start; the database holds the credential sealed only', async () => {
    gw = await startTestGateway([], { dir });
    const admin = await login(gw, 'admin', ADMIN_PASSWORD);
    const reg = await call(gw, 'POST', '/v1/clusters', {
      token: admin,
      body: { id: 'double', server: double.url, caData: Buffer.from(double.caPem).toString('base64'), credential: { token: double.gatewayToken } },
    });
    assert.equal(reg.status, 201, reg.text);
    assert.equal(((await stat(keyFile())).mode & 0o777).toString(8), '600');
    await reachesCluster();
    await gw.stop();
    gw = undefined;
    assert.ok(!dbText().includes(double.gatewayToken), 'the database file alone yields no credential');
    assert.match(dbText(), /kgenc:v1:k\d{8}-[0-9a-f]{6}:/);
  });

  it('rotates: a new first key, re-encrypt, drop the old key, and the cluster is still reached', async () => {
    const old = (await readFile(keyFile(), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
    const fresh = newKeyLine();
    const freshId = fresh.split(' ')[0]!;
    await writeFile(keyFile(), `${fresh}\n${old.join('\n')}\n`, { mode: 0o600 });
    gw = await startTestGateway([], { dir });
    await reachesCluster();
    const admin = await login(gw, 'admin', ADMIN_PASSWORD);
    const user = await call(gw, 'POST', '/v1/users', { token: admin, body: { username: 'carol', password: 'carol-password' } });
    const carol = await login(gw, 'carol', 'carol-password');
    assert.equal((await call(gw, 'POST', '/v1/encryption/reencrypt', { token: carol })).status, 403, user.text);
    const re = await call(gw, 'POST', '/v1/encryption/reencrypt', { token: admin });
    assert.deepEqual([re.status, re.body], [200, { reencrypted: 1 }]);
    await gw.stop();
    gw = undefined;
    assert.ok(dbText().includes(`kgenc:v1:${freshId}:`));

    await writeFile(keyFile(), `${fresh}\n`, { mode: 0o600 });
    gw = await startTestGateway([], { dir });
    await reachesCluster();
  });

  it('refuses to start, with one clear error, when its keys cannot open a stored credential', async () => {
    await gw?.stop();
    gw = undefined;
    await writeFile(keyFile(), `${newKeyLine()}\n`, { mode: 0o600 });
    await assert.rejects(startTestGateway([], { dir }), /--encryption-key-file \(KUBEGATE_ENCRYPTION_KEY_FILE\): cluster "double": its credential is encrypted with key "k\d{8}-[0-9a-f]{6}", which the encryption key file does not hold/);
  });
});
