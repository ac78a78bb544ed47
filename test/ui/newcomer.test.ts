/**
 * The web UI answers a newcomer's questions (issue 20), in Debian's chromium driven by
 * playwright-core: cluster status with its reason, the name once, the direct-endpoint badge,
 * Download all above the table; manage clusters (edit, rotate the agent token, set-up
 * instructions again, the gateway CA, the server's validation errors beside their fields); the
 * admin menu's Members (and what it says of a member who does not exist yet); readable token descriptions in local time with the zone, a revoked
 * token's secret gone, no notice carried to the next page; durations in days and hours; an
 * unknown route says "not found"; the login page logs no console error.
 * Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_PASSWORD, call, freePort } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : mkdtempSync(join(tmpdir(), 'kubegate-shots-'));
const TOKEN = /^kgt_t-[a-z2-7]{16}\.[A-Za-z0-9_-]{43}$/;
/** Chromium's short name for Europe/Berlin in December (en-US). */
const BERLIN = /(GMT\+1|CET)/;

describe('web UI: what a newcomer asks', () => {
  let world: ProxyWorld;
  let browser: Browser;
  let alicePassword: string;
  /** Every console message of type error, on every page (401s included: none is expected). */
  const consoleErrors: string[] = [];

  async function open(options: { timezoneId?: string } = {}): Promise<Page> {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 }, timezoneId: options.timezoneId ?? 'Europe/Berlin' });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    return page;
  }

  async function logIn(page: Page, username: string, password: string): Promise<void> {
    await page.goto(`${world.gw.url}/`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.evaluate(() => (document.getElementById('status')!.textContent = ''));
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  before(async () => {
    const port = await freePort();
    world = await startProxyWorld({ flags: ['--listen', `127.0.0.1:${port}`, '--public-url', `https://127.0.0.1:${port}`] });
    const caData = Buffer.from(world.double.caPem).toString('base64');
    const prod = await call(world.gw, 'POST', '/v1/clusters', {
      token: world.adminToken,
      body: { id: 'prod-eu', name: 'production', server: world.double.url, caData, credential: { token: world.double.gatewayToken }, authorizedEndpoint: { enabled: true, caData, controlPlaneNodes: [{ name: 'cp-1', address: new URL(world.double.url).host }] } },
    });
    assert.equal(prod.status, 201, prod.text);
    const edge = await call(world.gw, 'POST', '/v1/clusters', { token: world.adminToken, body: { id: 'edge', connection: 'agent' } });
    assert.equal(edge.status, 201, edge.text);
    const alice = await memberUser(world, { username: 'alice' });
    alicePassword = alice.password;
    for (const id of ['prod-eu', 'edge']) {
      await call(world.gw, 'PUT', `/v1/clusters/${id}/members`, { token: world.adminToken, body: { principal: 'user:alice', role: 'member' } });
    }
    mkdirSync(SHOTS, { recursive: true });
    const cert = new X509Certificate(await readFile(join(world.gw.dir, 'certs', 'server.crt')));
    const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', `--ignore-certificate-errors-spki-list=${spki}`],
    });
  });

  after(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('the login page loads without a single console error, and an unknown route says "not found"', async () => {
    const page = await open();
    await page.goto(`${world.gw.url}/`);
    await page.getByRole('heading', { level: 1, name: 'Log in to kubegate' }).waitFor();
    await page.waitForLoadState('networkidle');
    assert.deepEqual(consoleErrors, []);

    await logIn(page, 'alice', alicePassword);
    await page.goto(`${world.gw.url}/#/no-such-page`);
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /There is no page at #\/no-such-page/);
    assert.match(page.url(), /#\/no-such-page$/, 'the address stays what was asked for');
    await shot(page, 'not-found');
    await page.getByRole('link', { name: 'Go to your clusters' }).click();
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
    await page.context().close();
  });

  it('clusters: the status with its reason, the name once with the id beneath, the direct badge, Download all once above the table', async () => {
    const page = await open();
    await logIn(page, 'alice', alicePassword);
    const prod = page.locator('tr[data-cluster="prod-eu"]');
    await prod.waitFor();
    const nameCell = prod.locator('td').first();
    assert.equal(await nameCell.locator('strong').textContent(), 'production');
    assert.equal(await nameCell.locator('.mono').textContent(), 'prod-eu', 'the id as a secondary line');
    assert.equal(await nameCell.locator('.badge').textContent(), 'direct endpoint');
    assert.equal((await page.locator('thead th').allTextContents()).filter((t) => /name|id/i.test(t)).length, 0, 'no separate Name and ID columns');
    const edge = page.locator('tr[data-cluster="edge"]');
    assert.equal(await edge.locator('td[data-state] .badge').textContent(), 'Disconnected');
    assert.match((await edge.locator('td[data-state]').textContent()) ?? '', /cluster edge has no connected agent/);
    assert.equal(await edge.locator('td').first().locator('.badge').count(), 0, 'no direct badge without a direct endpoint');
    assert.equal(await page.getByRole('button', { name: 'Download all' }).count(), 1);
    const above = await page.evaluate(() => {
      const button = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Download all')!;
      return Boolean(button.compareDocumentPosition(document.querySelector('table')!) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    assert.ok(above, 'Download all comes before the table');
    await page.getByRole('button', { name: 'Actions for production' }).click();
    assert.equal(await page.getByRole('menuitem', { name: 'Download all' }).count(), 0, 'not in the row menu');
    await page.keyboard.press('Escape');
    await shot(page, 'clusters-status');
    await page.context().close();
  });

  it('clusters: each state reads as people say it, with the reason (Active, Unavailable, Credential rejected, Disconnected)', async () => {
    const page = await open();
    await logIn(page, 'alice', alicePassword);
    // The gateway's answer, with one cluster in each state the probe and the agents report.
    const real = (await call(world.gw, 'GET', '/v1/clusters', { token: world.adminToken })).body.items[0];
    const states = [
      ['a', 'direct', { state: 'Active', message: 'kube-apiserver v1.32.4 answered in 12 ms' }],
      ['b', 'direct', { state: 'Unavailable', message: 'connect ECONNREFUSED 10.0.0.5:6443' }],
      ['c', 'direct', { state: 'CredentialRejected', message: 'the cluster answered 401 to the impersonator token' }],
      ['d', 'agent', { state: 'Unavailable', message: 'cluster d has no connected agent', agent: { connected: false, connectedAt: null, replicas: 0, version: null } }],
      ['e', 'agent', { state: 'Active', message: '2 agents connected', agent: { connected: true, connectedAt: new Date().toISOString(), replicas: 2, version: null } }],
    ] as const;
    await page.route('**/v1/clusters', (route) =>
      route.fulfill({ json: { items: states.map(([id, connection, status]) => ({ ...real, id, name: id, connection, role: 'member', status: { ...status, checkedAt: new Date().toISOString() } })) } }),
    );
    await page.reload();
    await page.locator('tr[data-cluster="e"]').waitFor();
    const read = async (id: string) => [await page.locator(`tr[data-cluster="${id}"] td[data-state] .badge`).textContent(), await page.locator(`tr[data-cluster="${id}"] td[data-state] .note`).textContent()];
    assert.deepEqual(await read('a'), ['Active', 'kube-apiserver v1.32.4 answered in 12 ms']);
    assert.deepEqual(await read('b'), ['Unavailable', 'connect ECONNREFUSED 10.0.0.5:6443']);
    assert.deepEqual(await read('c'), ['Credential rejected', 'the cluster answered 401 to the impersonator token']);
    assert.deepEqual(await read('d'), ['Disconnected', 'cluster d has no connected agent'], 'an agent cluster without its agent reads Disconnected');
    assert.deepEqual(await read('e'), ['Active', '2 agents connected']);
    await page.context().close();
  });

  it('tokens: readable descriptions in local time with the zone; a revoked token\'s secret disappears; no notice follows to the next page', async () => {
    const page = await open({ timezoneId: 'Europe/Berlin' });
    await logIn(page, 'alice', alicePassword);
    // A kubeconfig download makes a token whose description names the cluster and the moment.
    await page.getByRole('button', { name: 'Actions for production' }).click();
    await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: 'Download KubeConfig' }).click()]);
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
    const described = page.locator('tr[data-token] td[data-description]', { hasText: 'kubeconfig for production' });
    await described.waitFor();
    const text = (await described.textContent()) ?? '';
    assert.match(text, /^kubeconfig for production, downloaded \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2} (GMT\+1|CET)$/);
    const tokens = (await call(world.gw, 'GET', '/v1/tokens', { token: (await call(world.gw, 'POST', '/v1/login', { body: { username: 'alice', password: alicePassword } })).body.token })).body.items;
    const kc = tokens.find((t: { kind: string; clusterId: string }) => t.kind === 'kubeconfig' && t.clusterId === 'prod-eu');
    const berlin = new Date(kc.createdAt).toLocaleString('en-GB', { timeZone: 'Europe/Berlin', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false }).replace(',', '');
    assert.ok(text.includes(berlin), `${text} shows the Berlin time ${berlin}`);
    const created = page.locator(`tr[data-token="${kc.tokenId}"] time`).first();
    assert.match((await created.textContent()) ?? '', BERLIN);
    assert.equal(await created.getAttribute('datetime'), kc.createdAt);

    // Downloading again replaces the cluster's download token: the page lists one per cluster.
    await page.getByRole('link', { name: 'Clusters' }).click();
    await page.getByRole('button', { name: 'Actions for production' }).click();
    await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: 'Download KubeConfig' }).click()]);
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { level: 2, name: 'Kubeconfig downloads' }).waitFor();
    const downloads = page.locator('table[data-section="downloads"] tr[data-cluster="prod-eu"]');
    await downloads.first().waitFor();
    assert.equal(await downloads.count(), 1, 'one download token for the cluster');
    assert.notEqual(await downloads.getAttribute('data-token'), kc.tokenId, 'the second download replaced the first token');
    assert.equal(await page.locator(`tr[data-token="${kc.tokenId}"]`).count(), 0);

    await page.getByLabel('Description').fill('laptop');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByRole('textbox', { name: 'New token' });
    await secret.waitFor();
    assert.match(await secret.inputValue(), TOKEN);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Revoke laptop' }).click();
    await page.getByRole('status').filter({ hasText: 'Token revoked' }).waitFor();
    await secret.waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('heading', { name: 'Copy your new token now' }).count(), 0, 'the revoked token\'s secret is gone');
    await shot(page, 'tokens-revoked');

    await page.getByRole('link', { name: 'Clusters' }).click();
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
    assert.equal(await page.locator('#status').textContent(), '', 'the Tokens page\'s notice did not follow');
    await page.context().close();
  });

  it('admin: the Members entry of the admin menu leads to every cluster\'s members', async () => {
    const page = await open();
    await logIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click();
    await page.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
    assert.deepEqual(await page.locator('li[data-cluster]').evaluateAll((li) => li.map((l) => l.getAttribute('data-cluster'))), ['double', 'edge', 'prod-eu']);
    await shot(page, 'admin-members');
    await page.getByRole('link', { name: 'Members of production' }).click();
    await page.getByRole('heading', { level: 1, name: 'Members of prod-eu' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Members', exact: true }).getAttribute('aria-current'), 'page');

    // Adding someone who does not exist yet is allowed, and said, until the next add.
    const notice = page.locator('[data-notice]');
    await page.getByLabel('Name').fill('ghost');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.locator('tr[data-principal="user:ghost"]').waitFor();
    await notice.filter({ hasText: /^Added user:ghost; there is no user "ghost" yet: the membership applies once one is created/ }).waitFor();
    await page.getByLabel('Kind').selectOption('group');
    await page.getByLabel('Name').fill('future-team');
    await page.getByRole('button', { name: 'Add member' }).click();
    await notice.filter({ hasText: /no user is in group "future-team" yet: groups may be added before anyone holds them/ }).waitFor();
    await shot(page, 'members-notice');
    await page.getByLabel('Kind').selectOption('user');
    await page.getByLabel('Name').fill('alice');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByRole('status').filter({ hasText: 'Added user:alice' }).waitFor();
    assert.equal(await notice.isHidden(), true, 'alice exists: nothing to say');
    await page.context().close();
  });

  it('admin: settings show each duration in days and hours beside the minutes', async () => {
    const page = await open();
    await logIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Settings' }).click();
    const session = page.getByLabel('Session lifetime (minutes)');
    await session.waitFor();
    const minutes = Number(await session.inputValue());
    const words = page.locator('[data-duration="session-ttl-minutes"]');
    assert.equal(await words.textContent(), minutes === 960 ? '= 16 hours' : (await words.textContent()));
    await session.fill('1530');
    assert.equal(await words.textContent(), '= 1 day 1 hour 30 minutes');
    await session.fill('43200');
    assert.equal(await words.textContent(), '= 30 days');
    await shot(page, 'settings-durations');
    await page.context().close();
  });

  it('admin: the register form shows the server\'s validation errors next to their fields', async () => {
    const page = await open();
    await logIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Manage clusters' }).click();
    await page.getByRole('heading', { level: 1, name: 'Manage clusters' }).waitFor();
    await page.getByRole('radio', { name: /The gateway reaches the API server/ }).check();
    await page.getByLabel('ID', { exact: true }).fill('lab');
    await page.getByLabel('Server URL').fill('https://10.0.0.9:6443/?debug=1');
    await page.getByLabel('Service account token').fill('a-token');
    await page.getByRole('button', { name: 'Register cluster' }).click();
    const server = page.getByLabel('Server URL');
    await page.locator('[aria-invalid="true"]').waitFor();
    assert.equal(await server.getAttribute('aria-invalid'), 'true');
    const note = page.locator('#' + (await server.getAttribute('aria-describedby'))!.split(' ').at(-1)!);
    assert.equal(await note.textContent(), 'must be an https:// URL without query or credentials');
    assert.ok(await server.evaluate((el) => el.nextElementSibling?.classList.contains('field-error')), 'beside the field');

    await server.fill('https://10.0.0.9:6443');
    await page.getByLabel('ID', { exact: true }).fill('double');
    await page.getByRole('button', { name: 'Register cluster' }).click();
    const id = page.getByLabel('ID', { exact: true });
    await page.locator('input[name="id"][aria-invalid="true"]').waitFor();
    assert.equal(await server.getAttribute('aria-invalid'), null, 'the earlier error is cleared');
    assert.match((await id.evaluate((el) => el.nextElementSibling?.textContent)) ?? '', /cluster "double" already exists/);
    await shot(page, 'admin-clusters-errors');
    await page.context().close();
  });

  it('admin: edit a cluster, see its set-up instructions again, rotate its agent token, download the gateway CA', async () => {
    const page = await open();
    await logIn(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('link', { name: 'Manage clusters' }).click();
    const row = page.locator('tr[data-cluster="double"]');
    await row.waitFor();

    await page.getByRole('button', { name: 'More actions for double' }).click();
    await page.getByRole('menuitem', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit double' }).waitFor();
    const editForm = page.locator('[aria-labelledby="edit-title"] form');
    await editForm.getByLabel('Name').fill('lab-double');
    await editForm.getByLabel('Enable the authorized (direct) endpoint').check();
    await editForm.getByLabel('Control-plane nodes').fill(`cp-9 ${new URL(world.double.url).host}`);
    await shot(page, 'admin-clusters-edit');
    await editForm.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved double' }).waitFor();
    await row.locator('strong', { hasText: 'lab-double' }).waitFor();
    const stored = (await call(world.gw, 'GET', '/v1/clusters/double', { token: world.adminToken })).body;
    assert.equal(stored.name, 'lab-double');
    assert.deepEqual(stored.authorizedEndpoint.controlPlaneNodes, [{ name: 'cp-9', address: new URL(world.double.url).host }]);
    assert.equal(stored.server, world.double.url, 'the server stays');
    // The credential was left empty: kubectl through the gateway still works with the old one.
    assert.equal((await call(world.gw, 'GET', '/k8s/clusters/double/api/v1/namespaces', { token: world.adminToken })).status, 200);

    await page.getByRole('button', { name: 'More actions for double' }).click();
    await page.getByRole('menuitem', { name: 'Set-up instructions' }).click();
    const setup = (await page.getByLabel('Set-up commands').textContent()) ?? '';
    assert.match(setup, new RegExp(`kubegate render kube-api-auth --cluster double --gateway ${world.gw.url.replace(/\./g, '\\.')}`));
    assert.match(setup, /kubegate render webhook-config/);
    assert.match(setup, /kubegate cluster add --id double/);
    assert.doesNotMatch(setup, /kgt_/, 'no secret in the instructions');
    await shot(page, 'admin-clusters-setup');

    const oldAgent = (await call(world.gw, 'POST', '/v1/clusters/edge/agent-token', { token: world.adminToken })).body.agentToken;
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'More actions for edge' }).click();
    await page.getByRole('menuitem', { name: 'Rotate agent token' }).click();
    await page.getByRole('heading', { name: 'New agent token for edge' }).waitFor();
    assert.match(await page.getByRole('textbox', { name: 'Import command' }).inputValue(), /\/v1\/clusters\/edge\/import\/[A-Za-z0-9_-]{43}\.yaml'$/);
    const newAgent = await page.getByRole('textbox', { name: 'Agent token' }).inputValue();
    assert.match(newAgent, TOKEN);
    assert.notEqual((await call(world.gw, 'GET', '/v1/clusters/edge/authn-sync', { token: oldAgent })).status, 200, 'the old agent token stopped working');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download gateway CA' }).click()]);
    assert.equal(download.suggestedFilename(), 'kubegate-ca.crt');
    const path = await download.path();
    assert.equal(await readFile(path, 'utf8'), world.gw.caPem);
    await page.context().close();
  });

  it('no page logged a console error or threw (but the answers the validation test asked for)', () => {
    assert.deepEqual(consoleErrors.filter((e) => !/#\/admin\/clusters: Failed to load resource: the server responded with a status of (400|409)/.test(e)), []);
  });
});
