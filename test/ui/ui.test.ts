/**
 * The web UI in a real browser (issue 9): Debian's chromium driven by playwright-core against an
 * in-process gateway with the kube-apiserver double registered as cluster `double`.
 *
 * TLS: chromium is told to accept exactly the gateway's serving key
 * (`--ignore-certificate-errors-spki-list`, its SPKI hash), not every certificate error.
 * Screenshots of each page go to docs/screenshots/ (with UPDATE_SCREENSHOTS=1).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_PASSWORD, call, freePort } from '../support/gateway.js';
import { kubectl, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
// Screenshots are taken on every run (a page that fails to render fails the test); they replace
// the committed ones in docs/screenshots/ only with UPDATE_SCREENSHOTS=1, so test runs leave the tree clean.
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : mkdtempSync(join(tmpdir(), 'kubegate-shots-'));
const TOKEN = /^kgt_t-[a-z2-7]{16}\.[A-Za-z0-9_-]{43}$/;

/** A browser session that records console errors, page errors and CSP violations. */
interface Session {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

describe('web UI in a real browser', () => {
  let world: ProxyWorld;
  let browser: Browser;
  let dir: string;
  let alice: Awaited<ReturnType<typeof memberUser>>;
  let aliceUi: Session;
  const sessions: Session[] = [];

  async function open(): Promise<Session> {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of (401|403|404|429)/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Seen by the test only: CSP reports every blocked inline script or style as this event.
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });
    const session = { context, page, problems };
    sessions.push(session);
    return session;
  }

  async function logIn(page: Page, username: string, password: string): Promise<void> {
    await page.goto(`${world.gw.url}/`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  async function shot(page: Page, name: string): Promise<void> {
    // The bottom toast would float over the middle of a full-page capture.
    await page.evaluate(() => (document.getElementById('status')!.textContent = ''));
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  /** Calls the API from inside the page, as the UI does (cookie), with or without the CSRF proof. */
  function pageFetch(page: Page, method: string, path: string, options: { csrf: boolean; body?: unknown }) {
    return page.evaluate(
      async ({ method, path, csrf, body }) => {
        const proof = document.cookie.split('; ').find((c) => c.startsWith('__Secure-kubegate-csrf='))?.split('=')[1] ?? '';
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (csrf) headers['X-CSRF-Token'] = proof;
        const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.status, text: await res.text() };
      },
      { method, path, csrf: options.csrf, body: options.body },
    );
  }

  before(async () => {
    const port = await freePort();
    // The public URL is written into kubeconfigs, so it must be where the gateway listens.
    world = await startProxyWorld({ flags: ['--listen', `127.0.0.1:${port}`, '--public-url', `https://127.0.0.1:${port}`] });
    const other = await call(world.gw, 'POST', '/v1/clusters', {
      token: world.adminToken,
      body: { id: 'other', server: world.double.url, caData: Buffer.from(world.double.caPem).toString('base64'), credential: { token: world.double.gatewayToken } },
    });
    assert.equal(other.status, 201, other.text);
    // The double also plays a control-plane node, so its row shows both ways to connect.
    const direct = await call(world.gw, 'PATCH', `/v1/clusters/${world.clusterId}`, {
      token: world.adminToken,
      body: { authorizedEndpoint: { enabled: true, caData: Buffer.from(world.double.caPem).toString('base64'), controlPlaneNodes: [{ name: 'cp-1', address: new URL(world.double.url).host }] } },
    });
    assert.equal(direct.status, 200, direct.text);
    alice = await memberUser(world, { username: 'alice', groups: ['dev'] });
    dir = await mkdtemp(join(tmpdir(), 'kubegate-ui-'));
    await mkdir(SHOTS, { recursive: true });
    const cert = new X509Certificate(await readFile(join(world.gw.dir, 'certs', 'server.crt')));
    const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic', `--ignore-certificate-errors-spki-list=${spki}`,
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await world?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the page with a strict CSP, no inline script or style, and hardened headers', async () => {
    const res = await call(world.gw, 'GET', '/');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['content-security-policy'], CSP);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(res.text, /<script(?![^>]*\bsrc=)[^>]*>/i, 'every script has a src');
    assert.doesNotMatch(res.text, /<style|\sstyle=|\son[a-z]+=/i, 'no inline styles or handlers');
    const js = await call(world.gw, 'GET', '/ui/js/main.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.equal((await call(world.gw, 'GET', '/ui/../../package.json')).status, 404);
    assert.equal((await call(world.gw, 'GET', '/ui/nope.js')).status, 404);
  });

  it('the browser gets the UI and the API over HTTP/2 (offered by ALPN, served by the same Express app)', async () => {
    const { page } = await open();
    await page.goto(`${world.gw.url}/`);
    await page.waitForLoadState('networkidle');
    const protocols = await page.evaluate(() => performance.getEntries().map((e) => (e as PerformanceResourceTiming).nextHopProtocol).filter(Boolean));
    assert.ok(protocols.length > 1, 'the page and its resources');
    assert.deepEqual(new Set(protocols), new Set(['h2']));
  });

  it('login: a wrong password shows an inline error; the session cookie is out of reach of the page', async () => {
    aliceUi = await open();
    const { page, context } = aliceUi;
    await logIn(page, 'alice', 'wrong-password');
    await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'Invalid username or password.' }).waitFor());
    await shot(page, 'login');

    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
    assert.match(page.url(), /#\/clusters$/);

    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === '__Secure-kubegate-session');
    assert.ok(session && TOKEN.test(session.value), 'session cookie holds a token');
    assert.deepEqual({ httpOnly: session.httpOnly, secure: session.secure, sameSite: session.sameSite, path: session.path }, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/v1' });
    const seen = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length, sessionStore: sessionStorage.length, url: location.href }));
    assert.doesNotMatch(seen.cookie + seen.url, /kgt_/, 'the page cannot see the token');
    assert.equal(seen.local + seen.sessionStore, 0);
    const me = await call(world.gw, 'GET', '/v1/me', { token: session.value });
    assert.equal(me.body.username, 'alice');
    const kind = (await call(world.gw, 'GET', '/v1/tokens', { token: alice.token })).body.items.find((t: any) => t.tokenId === me.body.tokenId)?.kind;
    assert.equal(kind, 'session');
  });

  it('login: throttling shows the wait from Retry-After', async () => {
    const { page } = await open();
    await page.goto(`${world.gw.url}/`);
    await page.getByLabel('Username').fill('mallory');
    await page.getByLabel('Password').fill('guess');
    // Five failures are free, the sixth locks the name from this address for 1 s: the click lands inside the lock.
    for (let i = 0; i < 6; i++) await call(world.gw, 'POST', '/v1/login', { body: { username: 'mallory', password: 'guess' } });
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: /Too many failed logins for this user from this address; try again in \d+s\./ }).waitFor();
    assert.match((await page.getByRole('button', { name: /Try again in/ }).textContent()) ?? '', /Try again in \d+s/);
    await shot(page, 'login-throttled');
  });

  it('the clusters page lists only the clusters the user may reach, with the two-doors note', async () => {
    const { page } = aliceUi;
    const rows = page.locator('tr[data-cluster]');
    await rows.first().waitFor();
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-cluster'))), ['double']);
    assert.match((await rows.first().textContent()) ?? '', /through kubegate \(context "double"\), or straight to the cluster \("double-cp-1"\)/);
    // Its health, with the probe's message (issue 15).
    const state = page.locator('tr[data-cluster="double"] td[data-state="Active"]');
    await state.waitFor();
    assert.match((await state.textContent()) ?? '', /^Activethe API server answers \(v1\.\d+\.\d+\) and kubegate may impersonate$/);
    // Keyboard: ↓ on the ⋮ button opens the menu on its first item.
    await page.getByRole('button', { name: 'Actions for double' }).focus();
    await page.keyboard.press('ArrowDown');
    const first = page.getByRole('menuitem', { name: 'Download KubeConfig' });
    assert.equal(await first.evaluate((el) => el === document.activeElement), true);
    await shot(page, 'clusters');
    await page.keyboard.press('Escape');
    assert.equal(await page.getByRole('menu').isHidden(), true);
  });

  it('Download KubeConfig saves double.yaml, and kubectl get ns works with it', async () => {
    const { page } = aliceUi;
    await page.getByRole('button', { name: 'Actions for double' }).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: 'Download KubeConfig' }).click()]);
    assert.equal(download.suggestedFilename(), 'double.yaml');
    const file = join(dir, 'double.yaml');
    await download.saveAs(file);
    const r = await kubectl(file, ['get', 'ns', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace\/default/);

    // Download all: once, above the table, not in each row's menu.
    const [all] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download all' }).click()]);
    assert.equal(all.suggestedFilename(), 'kubegate.yaml');
    await all.saveAs(join(dir, 'kubegate.yaml'));
    const merged = await kubectl(join(dir, 'kubegate.yaml'), ['get', 'ns', '-o', 'name']);
    assert.equal(merged.code, 0, merged.stderr);
  });

  it('Copy kubeconfig to clipboard puts the file on the clipboard', async () => {
    const { page, context } = aliceUi;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: world.gw.url });
    await page.getByRole('button', { name: 'Actions for double' }).click();
    await page.getByRole('menuitem', { name: 'Copy kubeconfig to clipboard' }).click();
    await page.getByRole('status').filter({ hasText: 'Copied the kubeconfig for double' }).waitFor();
    const text = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(text, /kind: Config/);
    assert.match(text, /server: https:\/\/127\.0\.0\.1:\d+\/k8s\/clusters\/double/);
  });

  it('tokens: create one (secret shown once) and revoke it', async () => {
    const { page } = aliceUi;
    await page.goto(`${world.gw.url}/#/tokens`);
    await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
    await page.getByLabel('Description').fill('ci pipeline');
    await page.getByLabel('Lifetime').selectOption({ label: '1 day' });
    await page.getByLabel('Cluster', { exact: true }).selectOption('double');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secretField = page.getByRole('textbox', { name: 'New token' });
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    assert.match(secret, TOKEN);
    await shot(page, 'tokens');
    const me = await call(world.gw, 'GET', '/v1/me', { token: secret });
    assert.equal(me.status, 200);
    assert.equal(me.body.clusterId, 'double');

    await page.reload();
    const row = page.locator('tr', { hasText: 'ci pipeline' });
    await row.waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'New token' }).count(), 0, 'the secret is not shown again');
    assert.equal((await page.content()).includes(secret), false);
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Revoke ci pipeline' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await call(world.gw, 'GET', '/v1/me', { token: secret })).status, 401);
  });

  it('CSRF: a cookie-authenticated call without the CSRF token is refused', async () => {
    const { page, context } = aliceUi;
    const without = await pageFetch(page, 'POST', '/v1/tokens', { csrf: false, body: { description: 'forged' } });
    assert.equal(without.status, 403, without.text);
    assert.match(without.text, /CSRF/);
    const mintingGet = await pageFetch(page, 'GET', '/v1/kubeconfig', { csrf: false });
    assert.equal(mintingGet.status, 403, 'GET /v1/kubeconfig mints tokens, so it needs the proof too');
    const withProof = await pageFetch(page, 'POST', '/v1/tokens', { csrf: true, body: { description: 'real' } });
    assert.equal(withProof.status, 201, withProof.text);

    // The same from outside the browser: the cookie alone, a wrong proof, a cross-site fetch.
    const jar = await context.cookies();
    const session = jar.find((c) => c.name === '__Secure-kubegate-session')!.value;
    const proof = jar.find((c) => c.name === '__Secure-kubegate-csrf')!.value;
    const cookie = `__Secure-kubegate-session=${session}`;
    assert.equal((await call(world.gw, 'POST', '/v1/tokens', { headers: { Cookie: cookie }, body: {} })).status, 403);
    assert.equal((await call(world.gw, 'POST', '/v1/tokens', { headers: { Cookie: cookie, 'X-CSRF-Token': proof.slice(1) + 'A' }, body: {} })).status, 403);
    assert.equal((await call(world.gw, 'POST', '/v1/tokens', { headers: { Cookie: cookie, 'X-CSRF-Token': proof, 'Sec-Fetch-Site': 'cross-site' }, body: {} })).status, 403);
    assert.equal((await call(world.gw, 'POST', '/v1/tokens', { headers: { Cookie: cookie, 'X-CSRF-Token': proof }, body: {} })).status, 201);
    // A bearer token needs no proof, and another token in the cookie is not accepted.
    assert.equal((await call(world.gw, 'POST', '/v1/tokens', { token: alice.token, headers: { Cookie: 'x=y' }, body: {} })).status, 201);
    const api = (await call(world.gw, 'POST', '/v1/tokens', { token: alice.token, body: {} })).body.token as string;
    const apiCookie = { Cookie: `__Secure-kubegate-session=${api}`, 'X-CSRF-Token': createHmacProof(api) };
    assert.equal((await call(world.gw, 'GET', '/v1/me', { headers: apiCookie })).status, 401);
    assert.equal((await call(world.gw, 'POST', '/ui/login', { headers: { 'Sec-Fetch-Site': 'cross-site' }, body: { username: 'alice', password: alice.password } })).status, 403);
  });

  it('a non-admin sees no admin pages and the admin API answers 403', async () => {
    const { page } = aliceUi;
    await page.goto(`${world.gw.url}/#/clusters`);
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count(), 0);
    for (const route of ['admin/users', 'admin/clusters', 'admin/settings']) {
      await page.goto(`${world.gw.url}/#/${route}`);
      await page.getByRole('heading', { level: 1, name: 'Administrators only' }).waitFor();
    }
    await shot(page, 'forbidden');
    for (const [method, path, body] of [
      ['GET', '/v1/users', undefined],
      ['POST', '/v1/users', { username: 'eve', password: 'eve-password' }],
      ['POST', '/v1/clusters', { id: 'evil', server: 'https://10.0.0.1', credential: { token: 'x' } }],
      ['GET', '/v1/settings', undefined],
      ['PUT', '/v1/settings/session-ttl-minutes', { value: 5 }],
      ['PUT', '/v1/clusters/double/members', { principal: 'user:alice', role: 'owner' }],
    ] as const) {
      const res = await pageFetch(page, method, path, { csrf: true, body });
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
    }
  });

  it('admin: users — create, set groups, disable, reset password', async () => {
    const { page } = await open();
    await logIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users', exact: true }).waitFor();
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password', { exact: true }).fill('carol-password-1');
    await page.getByLabel('Groups', { exact: true }).fill('qa');
    await page.getByRole('button', { name: 'Create user' }).click();
    const row = page.locator('tr[data-user="carol"]');
    await row.waitFor();
    await page.getByRole('button', { name: 'Edit carol' }).click();
    const edit = page.locator('form', { has: page.getByRole('heading', { level: 2, name: 'Edit carol' }) });
    await edit.getByLabel('Groups').fill('qa, ops');
    await edit.getByLabel(/^Enabled/).uncheck();
    await edit.getByLabel('New password').fill('carol-password-2');
    await shot(page, 'users');
    await edit.getByRole('button', { name: 'Save' }).click();
    await row.filter({ hasText: 'Disabled' }).waitFor();
    const carol = (await call(world.gw, 'GET', '/v1/users', { token: world.adminToken })).body.items.find((u: any) => u.username === 'carol');
    assert.deepEqual({ groups: carol.groups, enabled: carol.enabled }, { groups: ['qa', 'ops'], enabled: false });
    await call(world.gw, 'PATCH', `/v1/users/${carol.id}`, { token: world.adminToken, body: { enabled: true } });
    assert.equal((await call(world.gw, 'POST', '/v1/login', { body: { username: 'carol', password: 'carol-password-2' } })).status, 201);
  });

  it('admin: registers a cluster (agent token and commands shown once) and adds a member', async () => {
    const page = sessions.at(-1)!.page;
    await page.getByRole('link', { name: 'Manage clusters' }).click();
    await page.getByRole('heading', { level: 1, name: 'Manage clusters' }).waitFor();
    await page.getByLabel('ID', { exact: true }).fill('staging');
    await page.getByRole('radio', { name: /The gateway reaches the API server/ }).check();
    await page.getByLabel('Server URL').fill(world.double.url);
    await page.getByLabel('CA certificate (PEM)', { exact: true }).fill(world.double.caPem);
    await page.getByLabel('Service account token').fill(world.double.gatewayToken);
    await page.getByLabel('Enable the authorized (direct) endpoint').check();
    await page.getByLabel('Endpoint CA certificate (PEM)').fill(world.double.caPem);
    await page.getByLabel('Control-plane nodes').fill('cp-1 10.0.0.5:6443\ncp-2 10.0.0.6');
    await page.getByRole('button', { name: 'Register cluster' }).click();
    const agent = page.getByRole('textbox', { name: 'Agent token' });
    await agent.waitFor();
    assert.match(await agent.inputValue(), TOKEN);
    const commands = (await page.getByLabel('Install commands').textContent()) ?? '';
    assert.match(commands, new RegExp(`kubegate render kube-api-auth --cluster staging --gateway ${world.gw.url.replace(/\./g, '\\.')}`));
    assert.match(commands, /kubegate render webhook-config/);
    await shot(page, 'admin-clusters');
    // Probed at registration: the list shows its state and message.
    const state = page.locator('tr[data-cluster="staging"] td[data-state="Active"]');
    await state.waitFor();
    assert.match((await state.textContent()) ?? '', /kubegate may impersonate/);
    const stored = (await call(world.gw, 'GET', '/v1/clusters/staging', { token: world.adminToken })).body;
    assert.deepEqual(stored.authorizedEndpoint.controlPlaneNodes, [{ name: 'cp-1', address: '10.0.0.5:6443' }, { name: 'cp-2', address: '10.0.0.6' }]);

    await page.getByRole('link', { name: 'Add members to staging' }).click();
    await page.getByRole('heading', { level: 1, name: 'Members of staging' }).waitFor();
    await page.getByLabel('Name').fill('alice');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.locator('tr[data-principal="user:alice"]').waitFor();
    await page.getByLabel('Kind').selectOption('group');
    await page.getByLabel('Name').fill('qa');
    await page.getByLabel('Role', { exact: true }).selectOption('owner');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.locator('tr[data-principal="group:qa"]').waitFor();
    await shot(page, 'members');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove group:qa' }).click();
    await page.locator('tr[data-principal="group:qa"]').waitFor({ state: 'detached' });
    const reach = await call(world.gw, 'GET', '/v1/clusters', { token: alice.token });
    assert.deepEqual(reach.body.items.map((c: any) => c.id).sort(), ['double', 'staging']);
  });

  it('admin: registers a cluster through an agent (the default): the import command, and its state in the list', async () => {
    const page = sessions.at(-1)!.page;
    await page.getByRole('link', { name: 'Manage clusters' }).click();
    await page.getByRole('heading', { level: 1, name: 'Manage clusters' }).waitFor();
    assert.equal(await page.getByRole('radio', { name: /Connect through an agent \(recommended\)/ }).isChecked(), true);
    assert.equal(await page.getByLabel('Server URL').isVisible(), false, 'no address to enter for an agent cluster');
    await page.getByLabel('ID', { exact: true }).fill('edge');
    await page.getByRole('button', { name: 'Register cluster' }).click();
    const command = page.getByRole('textbox', { name: 'Import command' });
    await command.waitFor();
    assert.match(await command.inputValue(), new RegExp(`^kubectl apply -f '${world.gw.url.replace(/\./g, '\\.')}/v1/clusters/edge/import/[A-Za-z0-9_-]{43}\\.yaml'$`));
    assert.match(await page.getByRole('textbox', { name: 'Agent token' }).inputValue(), TOKEN);
    await page.locator('tr[data-cluster="edge"] td[data-state="Unavailable"]').waitFor();
    await shot(page, 'admin-clusters-agent');
    const stored = (await call(world.gw, 'GET', '/v1/clusters/edge', { token: world.adminToken })).body;
    assert.equal(stored.connection, 'agent');
    assert.deepEqual([stored.status.state, stored.status.agent.connected], ['Unavailable', false]);
  });

  it('admin: settings', async () => {
    const page = sessions.at(-1)!.page;
    await page.getByRole('link', { name: 'Settings' }).click();
    const ttl = page.getByLabel('Session lifetime (minutes)');
    await ttl.waitFor();
    assert.equal(await ttl.inputValue(), '960');
    await ttl.fill('480');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved' }).waitFor();
    await shot(page, 'settings');
    const settings = (await call(world.gw, 'GET', '/v1/settings', { token: world.adminToken })).body.items;
    assert.equal(settings.find((s: any) => s.name === 'session-ttl-minutes').value, 480);
  });

  it('log out revokes the session token and clears the cookies', async () => {
    const { page, context } = sessions.at(-1)!;
    const session = (await context.cookies()).find((c) => c.name === '__Secure-kubegate-session')!.value;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { level: 1, name: 'Log in to kubegate' }).waitFor();
    assert.equal((await context.cookies()).filter((c) => c.name.startsWith('__Secure-kubegate')).length, 0);
    assert.equal((await call(world.gw, 'GET', '/v1/me', { token: session })).status, 401);
  });

  it('no page broke the CSP or threw', () => {
    assert.deepEqual(sessions.flatMap((s) => s.problems), []);
  });
});

/** The CSRF proof the gateway expects for a token (the UI gets it from its cookie). */
function createHmacProof(token: string): string {
  return createHmac('sha256', token).update('kubegate-ui-csrf-v1').digest('base64url');
}
