/**
 * End to end: a downloaded kubeconfig used unmodified by real kubectl, through the gateway to the
 * kube-apiserver double, in token mode and in exec mode (`kubegate token` found on PATH), plus an
 * authorized-endpoint context straight to the "node". Build first (`npm run build`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, freePort } from '../support/gateway.js';
import { kubectl, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { BIN_DIR, cachedEntries, onlyEntry } from '../plugin/support.js';

const b64 = (pem: string) => Buffer.from(pem).toString('base64');

describe('downloaded kubeconfigs in kubectl', () => {
  let world: ProxyWorld;
  let alice: Awaited<ReturnType<typeof memberUser>>;
  let dir: string;
  let doublePort: string;

  async function setSetting(name: string, value: unknown): Promise<void> {
    const res = await call(world.gw, 'PUT', `/v1/settings/${name}`, { token: world.adminToken, body: { value } });
    assert.equal(res.status, 200, res.text);
  }

  async function download(path: string, method = 'POST'): Promise<string> {
    const res = await call(world.gw, method, path, { token: alice.token });
    assert.equal(res.status, 200, res.text);
    const file = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, res.text, { mode: 0o600 });
    return file;
  }

  async function pluginTokens(): Promise<any[]> {
    const res = await call(world.gw, 'GET', '/v1/tokens', { token: alice.token });
    return res.body.items.filter((t: any) => t.description === 'kubegate token plugin');
  }

  /** Lets the double accept `token` directly, as the webhook would for the authorized endpoint. */
  function acceptDirectly(token: string): void {
    world.double.setOptions({ staticTokens: { [token]: { username: 'alice', uid: alice.id, groups: ['kubegate:authenticated'] } } });
  }

  before(async () => {
    const port = await freePort();
    // The public URL is written into the kubeconfig, so it must be where the gateway listens.
    world = await startProxyWorld({ flags: ['--listen', `127.0.0.1:${port}`, '--public-url', `https://127.0.0.1:${port}`] });
    doublePort = new URL(world.double.url).port;
    // The double also plays the cluster's control-plane node for the authorized endpoint.
    const patched = await call(world.gw, 'PATCH', `/v1/clusters/${world.clusterId}`, {
      token: world.adminToken,
      body: { authorizedEndpoint: { enabled: true, caData: b64(world.double.caPem), controlPlaneNodes: [{ name: 'cp-1', address: `127.0.0.1:${doublePort}` }] } },
    });
    assert.equal(patched.status, 200, patched.text);
    alice = await memberUser(world, { username: 'alice' });
    dir = await mkdtemp(join(tmpdir(), 'kubegate-e2e-'));
  });

  after(async () => {
    await world.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe('token mode', () => {
    it('kubectl get ns works with the file as downloaded', async () => {
      const file = await download(`/v1/clusters/${world.clusterId}/kubeconfig`);
      const r = await kubectl(file, ['get', 'ns', '-o', 'name']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /namespace\/default/);
      const whoami = await kubectl(file, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
      assert.equal(whoami.stdout, 'alice', whoami.stderr);
    });

    it('the authorized-endpoint context reaches the node directly with its CA', async () => {
      const file = await download(`/v1/clusters/${world.clusterId}/kubeconfig`);
      const contexts = await kubectl(file, ['config', 'get-contexts', '-o', 'name']);
      assert.deepEqual(contexts.stdout.split('\n').filter(Boolean).sort(), ['double', 'double-cp-1']);
      const server = await kubectl(file, ['config', 'view', '-o', `jsonpath={.clusters[?(@.name=="double-cp-1")].cluster.server}`]);
      assert.equal(server.stdout, `https://127.0.0.1:${doublePort}`);
      const token = (await kubectl(file, ['config', 'view', '--raw', '-o', 'jsonpath={.users[0].user.token}'])).stdout;
      acceptDirectly(token);
      world.double.clearRequests();
      const r = await kubectl(file, ['--context', 'double-cp-1', 'get', 'ns', '-o', 'name']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /namespace\/default/);
      // Straight to the node: the gateway's impersonation headers are not on these requests.
      assert.ok(world.double.requests.some((q) => q.authenticatedAs?.username === 'alice' && !q.headersDistinct['impersonate-user']));
    });

    it('a merged kubeconfig reaches both clusters', async () => {
      const second = await call(world.gw, 'POST', '/v1/clusters', {
        token: world.adminToken,
        body: { id: 'second', server: world.double.url, caData: b64(world.double.caPem), credential: { token: world.double.gatewayToken } },
      });
      assert.equal(second.status, 201, second.text);
      await call(world.gw, 'PUT', '/v1/clusters/second/members', { token: world.adminToken, body: { principal: 'user:alice', role: 'member' } });
      const file = await download('/v1/kubeconfig', 'GET');
      for (const context of ['double', 'second']) {
        const r = await kubectl(file, ['--context', context, 'get', 'ns', '-o', 'name']);
        assert.equal(r.code, 0, `${context}: ${r.stderr}`);
      }
    });
  });

  describe('exec mode', () => {
    let file: string;
    let configDir: string;
    const env = (extra: Record<string, string | undefined> = {}) => ({
      PATH: `${BIN_DIR}:${process.env.PATH}`,
      HOME: dir,
      KUBEGATE_CONFIG_DIR: configDir,
      KUBEGATE_USERNAME: 'alice',
      KUBEGATE_PASSWORD: alice.password,
      ...extra,
    });

    before(async () => {
      await setSetting('kubeconfig-generate-token', false);
      file = await download(`/v1/clusters/${world.clusterId}/kubeconfig`);
      await setSetting('kubeconfig-generate-token', true);
      configDir = join(dir, 'kubegate-config');
    });

    it('kubectl runs kubegate token from PATH and gets through', async () => {
      const r = await kubectl(file, ['get', 'ns', '-o', 'name'], { env: env() });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /namespace\/default/);
      assert.equal((await pluginTokens()).length, 1);
    });

    it('the second command reuses the cached token (no second login)', async () => {
      const r = await kubectl(file, ['get', 'ns', '-o', 'name'], { env: env({ KUBEGATE_USERNAME: undefined, KUBEGATE_PASSWORD: undefined }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await pluginTokens()).length, 1);
    });

    // Issue 15, bug 1, with no faked clock: the cached token was verified moments ago. client-go
    // runs the plugin again after the 401 but does not retry that request, so the command that
    // meets the revocation may fail; the next one must work without waiting or prompting.
    it('after its cached token is revoked, the next kubectl command works (a new plugin token, no wait)', async () => {
      const [old] = await pluginTokens();
      assert.equal((await call(world.gw, 'DELETE', `/v1/tokens/${old.tokenId}`, { token: alice.token })).status, 204);
      const meets = await kubectl(file, ['get', 'ns', '-o', 'name'], { env: env() });
      console.log(`kubectl get ns right after the revocation: exit ${meets.code}${meets.code === 0 ? '' : `, ${meets.stderr.trim().split('\n').at(-1)}`}`);
      const next = await kubectl(file, ['get', 'ns', '-o', 'name'], { env: env() });
      console.log(`the next kubectl get ns: exit ${next.code}, ${next.stdout.trim().split('\n').join(' ')}`);
      assert.equal(next.code, 0, next.stderr);
      assert.match(next.stdout, /namespace\/default/);
      const now = await pluginTokens();
      assert.equal(now.length, 1, 'one live plugin token: a new one');
      assert.notEqual(now[0].tokenId, old.tokenId);
      assert.equal(onlyEntry(configDir).entry.tokenId, now[0].tokenId, 'the cache holds the new token');
    });

    it('fails cleanly when not interactive and without credentials', async () => {
      const r = await kubectl(file, ['get', 'ns'], {
        env: env({ KUBEGATE_CONFIG_DIR: join(dir, 'empty-config'), KUBEGATE_USERNAME: undefined, KUBEGATE_PASSWORD: undefined }),
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /kubegate token: not logged in to .* set KUBEGATE_USERNAME and KUBEGATE_PASSWORD/);
    });

    it('the authorized-endpoint context logs in at the gateway (trusting its CA from env) and reaches the node', async () => {
      const fresh = join(dir, 'ace-config');
      const contextEnv = env({ KUBEGATE_CONFIG_DIR: fresh });
      // First run: the plugin logs in at the gateway; the node does not know the token yet.
      await kubectl(file, ['--context', 'double-cp-1', 'get', 'ns'], { env: contextEnv });
      const [cached] = cachedEntries(fresh);
      assert.ok(cached, 'the plugin logged in from the authorized-endpoint context');
      acceptDirectly(cached.entry.token);
      const r = await kubectl(file, ['--context', 'double-cp-1', 'get', 'ns', '-o', 'name'], { env: contextEnv });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /namespace\/default/);
    });
  });
});
