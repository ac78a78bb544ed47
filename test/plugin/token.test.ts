/**
 * `kubegate token` (docs/reference/kubeconfig.md) as kubectl runs it: the built binary, a real gateway, a temp config dir.
 * Build first (`npm run build`; `npm test` does).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CredentialCache } from '../../src/credential-plugin/cache.js';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { cachedEntries, execInfo, onlyEntry, runKubegate } from './support.js';

const V1 = 'client.authentication.k8s.io/v1';
const V1BETA1 = 'client.authentication.k8s.io/v1beta1';

let gw: TestGateway;
let admin: string;
let alice: string;
let configDir: string;
let caData: string;

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    KUBEGATE_CONFIG_DIR: configDir,
    KUBEGATE_GATEWAY_CA_DATA: caData,
    KUBEGATE_USERNAME: 'alice',
    KUBEGATE_PASSWORD: 'alice-password',
    KUBERNETES_EXEC_INFO: execInfo(V1),
    ...extra,
  };
}

const args = (cluster = 'c1') => ['token', `--server=${gw.url}`, `--cluster=${cluster}`];

/** alice's plugin tokens as the gateway lists them. */
async function pluginTokens(): Promise<any[]> {
  const res = await call(gw, 'GET', '/v1/tokens', { token: alice });
  return res.body.items.filter((t: any) => t.description === 'kubegate token plugin');
}

function credentialOf(stdout: string): { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } } {
  assert.equal(stdout.trim().split('\n').length, 1, 'stdout is one JSON line');
  return JSON.parse(stdout);
}

before(async () => {
  gw = await startTestGateway();
  caData = Buffer.from(gw.caPem!).toString('base64');
  admin = await login(gw, 'admin', ADMIN_PASSWORD);
  for (const id of ['c1', 'c2']) {
    const res = await call(gw, 'POST', '/v1/clusters', { token: admin, body: { id, server: 'https://10.0.0.1:6443', credential: { token: 'x' } } });
    assert.equal(res.status, 201, res.text);
    await call(gw, 'PUT', `/v1/clusters/${id}/members`, { token: admin, body: { principal: 'user:alice', role: 'member' } });
  }
  await createUser(gw, admin, { username: 'alice', password: 'alice-password' });
  alice = await login(gw, 'alice', 'alice-password');
});

after(async () => {
  await gw.stop();
});

beforeEach(async () => {
  if (configDir) await rm(configDir, { recursive: true, force: true });
  configDir = join(await mkdtemp(join(tmpdir(), 'kubegate-plugin-')), 'cfg');
  for (const t of await pluginTokens()) await call(gw, 'DELETE', `/v1/tokens/${t.tokenId}`, { token: alice });
});

describe('kubegate token', () => {
  it('logs in with env credentials and prints a v1 ExecCredential only', async () => {
    const started = Date.now();
    const res = await runKubegate(args(), env());
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    const cred = credentialOf(res.stdout);
    assert.equal(cred.apiVersion, V1);
    assert.equal(cred.kind, 'ExecCredential');
    assert.match(cred.status.token, /^kgt_t-/);
    assert.match(cred.status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Session TTL (960 minutes by default).
    assert.ok(Math.abs(Date.parse(cred.status.expirationTimestamp) - started - 960 * 60_000) < 60_000);
    const me = await call(gw, 'GET', '/v1/me', { token: cred.status.token });
    assert.equal(me.body.username, 'alice');
    assert.equal(me.body.clusterId, 'c1');
  });

  it('answers in v1beta1 when kubectl asks for it', async () => {
    const res = await runKubegate(args(), env({ KUBERNETES_EXEC_INFO: execInfo(V1BETA1) }));
    assert.equal(res.code, 0, res.stderr);
    assert.equal(credentialOf(res.stdout).apiVersion, V1BETA1);
  });

  it('refuses an ExecInfo version it does not speak', async () => {
    const res = await runKubegate(args(), env({ KUBERNETES_EXEC_INFO: execInfo('client.authentication.k8s.io/v1alpha1') }));
    assert.equal(res.code, 2);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /^kubegate token: .*v1alpha1.*\n$/);
  });

  it('reuses the cached token: the second run makes no new token', async () => {
    const first = credentialOf((await runKubegate(args(), env())).stdout);
    const second = await runKubegate(args(), env({ KUBEGATE_USERNAME: undefined, KUBEGATE_PASSWORD: undefined }));
    assert.equal(second.code, 0, second.stderr);
    assert.equal(credentialOf(second.stdout).status.token, first.status.token);
    assert.equal((await pluginTokens()).length, 1);
  });

  it('keeps one cache file per gateway and cluster, private to the user', async () => {
    await runKubegate(args('c1'), env());
    await runKubegate(args('c2'), env());
    const entries = cachedEntries(configDir);
    assert.deepEqual(entries.map((e) => e.entry.clusterId).sort(), ['c1', 'c2']);
    assert.equal((await stat(configDir + '/credentials')).mode & 0o777, 0o700);
    for (const { file } of entries) assert.equal((await stat(file)).mode & 0o777, 0o600);
    const tokens = await pluginTokens();
    assert.deepEqual(tokens.map((t) => t.clusterId).sort(), ['c1', 'c2']);
  });

  it('logs in again when the cached token was revoked', async () => {
    const first = credentialOf((await runKubegate(args(), env())).stdout);
    const [revoked] = await pluginTokens();
    assert.equal((await call(gw, 'DELETE', `/v1/tokens/${revoked.tokenId}`, { token: alice })).status, 204);
    // The plugin re-checks a cached token at the gateway once it was last verified > 5 minutes ago.
    const { file, entry } = onlyEntry(configDir);
    await writeFile(file, JSON.stringify({ ...entry, verifiedAt: new Date(Date.now() - 6 * 60_000).toISOString() }));
    const res = await runKubegate(args(), env());
    assert.equal(res.code, 0, res.stderr);
    const second = credentialOf(res.stdout);
    assert.notEqual(second.status.token, first.status.token);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: second.status.token })).status, 200);
    const [now] = cachedEntries(configDir);
    assert.equal(now!.entry.token, second.status.token);
  });

  it('run again by the same process (client-go after a 401), re-checks at once and logs in again if revoked', async () => {
    // Every run here has this test process as its parent, as a kubectl process is for its plugin runs.
    const first = credentialOf((await runKubegate(args(), env())).stdout);
    assert.deepEqual(onlyEntry(configDir).entry.handedTo, [process.pid]);
    const [revoked] = await pluginTokens();
    assert.equal((await call(gw, 'DELETE', `/v1/tokens/${revoked.tokenId}`, { token: alice })).status, 204);
    const res = await runKubegate(args(), env());
    assert.equal(res.code, 0, res.stderr);
    const second = credentialOf(res.stdout);
    assert.notEqual(second.status.token, first.status.token);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: second.status.token })).status, 200);
    assert.equal(onlyEntry(configDir).entry.token, second.status.token);
  });

  it('records a successful re-check and keeps the token', async () => {
    const first = credentialOf((await runKubegate(args(), env())).stdout);
    const { file, entry } = onlyEntry(configDir);
    const stale = new Date(Date.now() - 6 * 60_000).toISOString();
    await writeFile(file, JSON.stringify({ ...entry, verifiedAt: stale }));
    const res = await runKubegate(args(), env());
    assert.equal(credentialOf(res.stdout).status.token, first.status.token);
    assert.ok(Date.parse(cachedEntries(configDir)[0]!.entry.verifiedAt) > Date.parse(stale));
    assert.equal((await pluginTokens()).length, 1);
  });

  it('keeps using the cached token when the gateway cannot be reached (the direct endpoint still works)', async () => {
    await runKubegate(args(), env());
    const { entry } = onlyEntry(configDir);
    const down = 'https://127.0.0.1:9';
    const moved = { ...entry, server: down, verifiedAt: new Date(Date.now() - 60 * 60_000).toISOString() };
    await writeFile(new CredentialCache(configDir).pathOf(down, 'c1'), JSON.stringify(moved));
    const res = await runKubegate(['token', `--server=${down}`, '--cluster=c1'], env());
    assert.equal(res.code, 0, res.stderr);
    assert.equal(credentialOf(res.stdout).status.token, entry.token);
  });

  it('logs in again when the cached token has expired', async () => {
    const first = credentialOf((await runKubegate(args(), env())).stdout);
    const { file, entry } = onlyEntry(configDir);
    await writeFile(file, JSON.stringify({ ...entry, expiresAt: new Date(Date.now() - 1000).toISOString() }));
    const second = credentialOf((await runKubegate(args(), env())).stdout);
    assert.notEqual(second.status.token, first.status.token);
  });

  it('ignores a corrupt cache file', async () => {
    await runKubegate(args(), env());
    const { file } = onlyEntry(configDir);
    await writeFile(file, '{"token": ');
    const res = await runKubegate(args(), env());
    assert.equal(res.code, 0, res.stderr);
    assert.match(JSON.parse(await readFile(file, 'utf8')).token, /^kgt_/);
  });

  it('fails with one clear line when not interactive and without credentials', async () => {
    const res = await runKubegate(args(), env({ KUBEGATE_USERNAME: undefined, KUBEGATE_PASSWORD: undefined, KUBERNETES_EXEC_INFO: execInfo(V1, false) }));
    assert.equal(res.code, 2);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /^kubegate token: not logged in to .* set KUBEGATE_USERNAME and KUBEGATE_PASSWORD.*\n$/);
    assert.equal(res.stderr.split('\n').length, 2);
  });

  it('fails with one line on a wrong password', async () => {
    const res = await runKubegate(args(), env({ KUBEGATE_PASSWORD: 'wrong-password' }));
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.equal(res.stderr, `kubegate token: login at ${gw.url} as "alice" failed: invalid username or password\n`);
  });

  it('fails with one line for a cluster the user cannot reach', async () => {
    const res = await runKubegate(args('nope'), env());
    assert.equal(res.code, 1);
    // Not "login failed": the password was right; the cluster refused (issue 15).
    assert.equal(res.stderr, `kubegate token: ${gw.url} refused "alice" a token for cluster "nope": cluster "nope" does not exist or you are not a member of it\n`);
  });

  it('verifies the gateway certificate: no CA data means the system CAs, which do not trust it', async () => {
    const res = await runKubegate(args(), env({ KUBEGATE_GATEWAY_CA_DATA: undefined }));
    assert.equal(res.code, 1);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /^kubegate token: the certificate of .* is not trusted .*KUBEGATE_GATEWAY_CA_DATA/);
    assert.deepEqual(cachedEntries(configDir), []);
  });

  it('refuses bad flags with exit 2', async () => {
    for (const bad of [['token', '--cluster=c1'], ['token', '--server=ftp://x', '--cluster=c1'], ['token', `--server=${'https://x'}`, '--cluster=Not_A_Label'], ['token', '--frobnicate']]) {
      const res = await runKubegate(bad, env());
      assert.equal(res.code, 2, bad.join(' '));
      assert.equal(res.stderr.split('\n').length, 2, res.stderr);
    }
  });

  it('--logout revokes and forgets cached credentials', async () => {
    const c1 = credentialOf((await runKubegate(args('c1'), env())).stdout).status.token;
    const c2 = credentialOf((await runKubegate(args('c2'), env())).stdout).status.token;
    const other = await runKubegate(['token', '--logout', '--server=https://elsewhere.example.com'], env());
    assert.equal(other.code, 0, other.stderr);
    assert.equal(cachedEntries(configDir).length, 2);

    const one = await runKubegate(['token', '--logout', `--server=${gw.url}`, '--cluster=c1'], env());
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stderr, /forgot 1 cached credential \(1 revoked/);
    assert.deepEqual(cachedEntries(configDir).map((e) => e.entry.clusterId), ['c2']);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: c1 })).status, 401);

    // A token that no longer worked is forgotten but not counted as revoked now (issue 15).
    const [c2Token] = (await pluginTokens()).filter((t) => t.clusterId === 'c2');
    assert.equal((await call(gw, 'DELETE', `/v1/tokens/${c2Token.tokenId}`, { token: alice })).status, 204);
    const all = await runKubegate(['token', '--logout'], env());
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stderr, 'kubegate token: forgot 1 cached credential (0 revoked at the gateway, 1 no longer valid there)\n');
    assert.deepEqual(cachedEntries(configDir), []);
    assert.equal((await call(gw, 'GET', '/v1/me', { token: c2 })).status, 401);
  });

  it('two concurrent runs share one login and leave a sound cache', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => runKubegate(args(), env())));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const tokens = new Set(runs.map((r) => credentialOf(r.stdout).status.token));
    assert.equal(tokens.size, 1);
    assert.equal((await pluginTokens()).length, 1);
    const entries = cachedEntries(configDir);
    assert.equal(entries.length, 1);
    assert.ok(tokens.has(entries[0]!.entry.token));
  });
});
