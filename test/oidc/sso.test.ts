/**
 * Single sign-on end to end (docs/reference/identity.md#single-sign-on-users): a user who exists
 * only at the OpenID provider logs in in Chromium, downloads a kubeconfig and uses kubectl through
 * the gateway and through the direct door; `kubegate token` logs in with the device flow and, when
 * the provider has none, with the browser and a loopback redirect; groups follow the provider at
 * each login. The provider is the real `oidc-provider` package, in this process, over TLS from a
 * test CA. The steps run in order and share state.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { ssoUserId } from '../../src/auth/oidc/claims.js';
import { kubectl } from '../support/cluster.js';
import { call, startTestGateway } from '../support/gateway.js';
import { CLUSTER, PUBLIC_CLIENT_ID, confirmDevice, consentAtProvider, signInAtProvider, startSsoWorld, type SsoWorld } from '../support/sso-world.js';
import { eventually } from '../webhook/support.js';
import { KUBEGATE } from '../plugin/support.js';

interface WhoAmI {
  username: string;
  uid: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** `kubegate token` running in the background: its stderr so far, and how it ended. */
interface PluginRun {
  stderr(): string;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

describe('single sign-on with OpenID Connect, end to end', { timeout: 300_000 }, () => {
  let world: SsoWorld;
  let aliceKubeconfig: string;
  let aliceId: string;

  const whoami = async (kubeconfig: string, args: string[]): Promise<WhoAmI> => {
    const res = await kubectl(kubeconfig, [...args, 'auth', 'whoami', '-o', 'json']);
    assert.equal(res.code, 0, `kubectl ${args.join(' ')} auth whoami: ${res.stderr}`);
    return JSON.parse(res.stdout).status.userInfo as WhoAmI;
  };

  const startPlugin = (configDir: string, env: Record<string, string> = {}): PluginRun => {
    const child = spawn(process.execPath, [KUBEGATE, 'token', `--server=${world.gw.url}`, `--cluster=${CLUSTER}`], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        KUBEGATE_CONFIG_DIR: configDir,
        KUBEGATE_GATEWAY_CA_DATA: Buffer.from(world.gw.caPem!).toString('base64'),
        KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', spec: { interactive: false } }),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      }),
    );
    return { stderr: () => stderr, done };
  };

  /** The browser login from the gateway's login page, ending on the clusters page. */
  const browserLogin = async (page: Page, login: string): Promise<void> => {
    await page.goto(`${world.gw.url}/`);
    await page.getByRole('link', { name: 'Log in with Test IdP' }).click();
    await signInAtProvider(page, login);
    await consentAtProvider(page);
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
  };

  const usersByName = async (): Promise<Map<string, any>> => {
    const res = await call(world.gw, 'GET', '/v1/users', { token: world.adminToken });
    return new Map(res.body.items.map((u: any) => [u.username, u]));
  };

  before(async () => {
    world = await startSsoWorld(['--oidc-accept-id-tokens']);
    // The provider's dev group may reach the cluster; nobody was created in kubegate for it.
    const member = await call(world.gw, 'PUT', `/v1/clusters/${CLUSTER}/members`, { token: world.adminToken, body: { principal: 'group:oidc:dev', role: 'member' } });
    assert.equal(member.status, 200, member.text);
    aliceId = ssoUserId(world.provider.issuer, 'sub-alice-1');
  });

  after(async () => {
    await world?.stop();
  });

  it('the login page offers "Log in with Test IdP"; the provider\'s login and consent lead back to the clusters page', async () => {
    assert.equal((await usersByName()).has('alice'), false, 'alice exists only at the provider');
    const context = await world.browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await browserLogin(page, 'alice');
    assert.match(page.url(), /#\/clusters$/);
    await page.locator(`tr[data-cluster="${CLUSTER}"]`).waitFor();
    assert.match((await page.locator('#who').textContent()) ?? '', /Signed in as alice/);

    // The same cookie session as a password login; the login-state cookie is gone.
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === '__Secure-kubegate-session');
    assert.deepEqual({ httpOnly: session?.httpOnly, secure: session?.secure, sameSite: session?.sameSite, path: session?.path }, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/v1' });
    assert.equal(cookies.some((c) => c.name === '__Secure-kubegate-oidc'), false);

    const alice = (await usersByName()).get('alice');
    assert.deepEqual(
      { id: alice.id, source: alice.source, subject: alice.subject, groups: alice.groups, admin: alice.admin },
      { id: aliceId, source: `oidc:${world.provider.issuer}`, subject: 'sub-alice-1', groups: ['oidc:dev', 'oidc:ops'], admin: false },
    );

    // ⋮ → Download KubeConfig, as a user would.
    await page.getByRole('button', { name: `Actions for ${CLUSTER}` }).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: 'Download KubeConfig' }).click()]);
    aliceKubeconfig = join(world.dir, 'alice.yaml');
    await download.saveAs(aliceKubeconfig);
    await context.close();
  });

  it('kubectl works with that kubeconfig; auth whoami shows the provider\'s username and prefixed groups on both doors', async () => {
    const expected = {
      username: 'alice',
      uid: aliceId,
      groups: ['oidc:dev', 'oidc:ops', 'kubegate:role:member', 'kubegate:authenticated', 'system:authenticated'],
    };
    const gateway = await whoami(aliceKubeconfig, ['--context', CLUSTER]);
    assert.deepEqual({ username: gateway.username, uid: gateway.uid, groups: gateway.groups }, expected);
    assert.match(gateway.extra['kubegate.io/token-id']?.[0] ?? '', /^t-[a-z2-7]{16}$/);
    const got = await kubectl(aliceKubeconfig, ['--context', CLUSTER, 'get', 'ns', '-o', 'name']);
    assert.equal(got.code, 0, got.stderr);

    // The direct door answers once the webhook has synced the kubeconfig's token.
    let direct: WhoAmI | undefined;
    await eventually('the webhook to know the kubeconfig token', async () => {
      const res = await kubectl(aliceKubeconfig, ['--context', `${CLUSTER}-cp-1`, 'auth', 'whoami', '-o', 'json']);
      if (res.code === 0) direct = JSON.parse(res.stdout).status.userInfo as WhoAmI;
      return res.code === 0;
    });
    assert.deepEqual(direct, gateway, 'the direct door gives exactly the identity the gateway gives');
  });

  it('kubegate token signs in with the device flow: the code on stderr, confirmed in Chromium, then a cluster-scoped token', async () => {
    const configDir = join(world.dir, 'plugin-device');
    const run = startPlugin(configDir);
    let url = '';
    let code = '';
    await eventually('the plugin to print the verification URL and code', async () => {
      const m = /open (https:\/\/\S+)\n[^\n]*confirm the code ([A-Z]{4}-[A-Z]{4})/.exec(run.stderr());
      if (m) [url, code] = [m[1]!, m[2]!];
      return m !== null;
    }, 30_000);
    assert.ok(url.startsWith(`${world.provider.issuer}/device`), url);
    assert.ok(url.includes(code) || url.endsWith('/device'));
    await confirmDevice(world.browser, url, 'bob');
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    const credential = JSON.parse(result.stdout);
    assert.equal(credential.kind, 'ExecCredential');
    const token: string = credential.status.token;
    const me = await call(world.gw, 'GET', '/v1/me', { token });
    assert.deepEqual({ username: me.body.username, groups: me.body.groups, clusterId: me.body.clusterId }, { username: 'bob', groups: ['oidc:dev'], clusterId: CLUSTER });

    const kubeconfig = join(world.dir, 'bob.yaml');
    await writeFile(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'gw',
      clusters: [{ name: 'gw', cluster: { server: `${world.gw.url}/k8s/clusters/${CLUSTER}`, 'certificate-authority-data': Buffer.from(world.gw.caPem!).toString('base64') } }],
      users: [{ name: 'bob', user: { token } }],
      contexts: [{ name: 'gw', context: { cluster: 'gw', user: 'bob' } }],
    }));
    const who = await whoami(kubeconfig, []);
    assert.deepEqual({ username: who.username, uid: who.uid }, { username: 'bob', uid: ssoUserId(world.provider.issuer, 'sub-bob-2') });

    // The next run hands out the cached token without a login.
    const again = await startPlugin(configDir).done;
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).status.token, token);
    assert.equal(again.stderr, '');
  });

  it('without a device flow, kubegate token opens the browser on the provider\'s login, prints the URL, and takes the code at its loopback redirect', async () => {
    world.provider.reconfigure({ deviceFlow: false });
    try {
      const opened = join(world.dir, 'opened-url');
      const browserCommand = join(world.dir, 'fake-browser');
      await writeFile(browserCommand, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
      await chmod(browserCommand, 0o755);
      const run = startPlugin(join(world.dir, 'plugin-loopback'), { KUBEGATE_BROWSER: browserCommand, KUBEGATE_LOOPBACK_PORTS: String(world.loopbackPort) });
      let url = '';
      await eventually('the plugin to print the login URL', async () => {
        url = /\n(https:\/\/127\.0\.0\.1:\d+\/auth\?\S+)\n/.exec(run.stderr())?.[1] ?? '';
        return url !== '';
      }, 30_000);
      await eventually('the browser command to be run with the URL', async () => (await readFile(opened, 'utf8')) === url);
      const authorize = new URL(url);
      assert.equal(authorize.searchParams.get('redirect_uri'), `http://127.0.0.1:${world.loopbackPort}/callback`);
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');

      const context = await world.browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      await signInAtProvider(page, 'alice');
      await consentAtProvider(page);
      await page.getByRole('heading', { name: 'Logged in' }).waitFor();
      await context.close();
      const result = await run.done;
      assert.equal(result.code, 0, result.stderr);
      const me = await call(world.gw, 'GET', '/v1/me', { token: JSON.parse(result.stdout).status.token });
      assert.deepEqual({ id: me.body.id, username: me.body.username, clusterId: me.body.clusterId }, { id: aliceId, username: 'alice', clusterId: CLUSTER });
    } finally {
      world.provider.reconfigure({ deviceFlow: true });
    }
  });

  it('groups stay current: removed at the provider, a group is gone at the next login, and from the tokens issued before it', async () => {
    const before = await whoami(aliceKubeconfig, ['--context', CLUSTER]);
    assert.ok(before.groups.includes('oidc:ops'));
    world.provider.accounts.get('alice')!.claims.groups = ['dev'];
    const context = await world.browser.newContext();
    await browserLogin(await context.newPage(), 'alice');
    await context.close();
    assert.deepEqual((await usersByName()).get('alice').groups, ['oidc:dev']);
    // The kubeconfig token from the first login now carries the groups of the last one, on both doors.
    const gateway = await whoami(aliceKubeconfig, ['--context', CLUSTER]);
    assert.deepEqual(gateway.groups, ['oidc:dev', 'kubegate:role:member', 'kubegate:authenticated', 'system:authenticated']);
    await eventually('the direct door to give the new groups', async () => {
      const res = await kubectl(aliceKubeconfig, ['--context', `${CLUSTER}-cp-1`, 'auth', 'whoami', '-o', 'json']);
      return res.code === 0 && !JSON.parse(res.stdout).status.userInfo.groups.includes('oidc:ops');
    });
  });

  it('a public client (no --oidc-client-secret-file) logs in too: the device flow without a secret', async () => {
    const flags = world.oidcFlags.filter((f, i, all) => f !== '--oidc-client-secret-file' && all[i - 1] !== '--oidc-client-secret-file');
    flags[flags.indexOf('--oidc-client-id') + 1] = PUBLIC_CLIENT_ID;
    const gw = await startTestGateway(flags);
    try {
      const device = await call(gw, 'POST', '/v1/oidc/device', { body: {} });
      assert.equal(device.status, 200, device.text);
      assert.equal((await call(gw, 'POST', '/v1/oidc/device/token', { body: { deviceCode: device.body.deviceCode } })).status, 202);
      await confirmDevice(world.browser, device.body.verificationUriComplete, 'bob');
      const done = await call(gw, 'POST', '/v1/oidc/device/token', { body: { deviceCode: device.body.deviceCode } });
      assert.equal(done.status, 201, done.text);
      assert.deepEqual([done.body.user.username, done.body.user.source], ['bob', `oidc:${world.provider.issuer}`]);
      const again = await call(gw, 'POST', '/v1/oidc/device/token', { body: { deviceCode: device.body.deviceCode } });
      assert.equal(again.status, 401, 'a device code is good for one login');
    } finally {
      await gw.stop();
    }
  });
});
