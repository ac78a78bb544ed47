/**
 * Roles in the web UI (issue 18), in Debian's chromium driven by playwright-core: an admin adds a
 * custom role on the Roles page and downloads the RBAC bindings; a cluster's Members page offers
 * every role with its ClusterRole and changes a member's role in place, which the user's next
 * request through the gateway carries as kubegate:role:<role>. Screenshots go to
 * docs/screenshots/ with UPDATE_SCREENSHOTS=1.
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
import { parseAllDocuments } from 'yaml';
import { ADMIN_PASSWORD, call, freePort } from '../support/gateway.js';
import { memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : mkdtempSync(join(tmpdir(), 'kubegate-shots-'));

describe('web UI: roles', () => {
  let world: ProxyWorld;
  let browser: Browser;
  let page: Page;
  let alice: Awaited<ReturnType<typeof memberUser>>;
  const problems: string[] = [];

  const shot = async (name: string) => {
    await page.evaluate(() => (document.getElementById('status')!.textContent = ''));
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };
  const whoamiGroups = async (): Promise<string[]> => {
    const res = await call(world.gw, 'POST', `/k8s/clusters/${world.clusterId}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      token: alice.token,
      body: { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1' },
    });
    assert.equal(res.status, 201, res.text);
    return res.body.status.userInfo.groups;
  };

  before(async () => {
    const port = await freePort();
    world = await startProxyWorld({ flags: ['--listen', `127.0.0.1:${port}`, '--public-url', `https://127.0.0.1:${port}`] });
    alice = await memberUser(world, { username: 'alice' });
    mkdirSync(SHOTS, { recursive: true });
    const cert = new X509Certificate(await readFile(join(world.gw.dir, 'certs', 'server.crt')));
    const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', `--ignore-certificate-errors-spki-list=${spki}`],
    });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${world.gw.url}/`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
  });

  after(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('admin: the Roles page lists the built-ins, adds a custom role, and downloads the bindings', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('heading', { level: 1, name: 'Roles' }).waitFor();
    for (const [role, clusterRole] of [['owner', 'cluster-admin'], ['member', 'edit'], ['viewer', 'view']]) {
      assert.equal(await page.locator(`tr[data-role="${role}"] td.mono`).first().textContent(), clusterRole);
    }
    await page.getByLabel('Role name').fill('deployer');
    await page.getByLabel('ClusterRole', { exact: true }).fill('edit');
    await page.getByRole('button', { name: 'Add role' }).click();
    await page.locator('tr[data-role="deployer"]').waitFor();
    await page.getByLabel('Role name').fill('Bad Name!');
    await page.getByLabel('ClusterRole', { exact: true }).fill('view');
    // The browser's own pattern check keeps the form from being sent.
    await page.getByRole('button', { name: 'Add role' }).click();
    assert.equal(await page.locator('tr[data-role="Bad Name!"]').count(), 0);
    await shot('roles');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download RBAC bindings' }).click()]);
    assert.equal(download.suggestedFilename(), 'kubegate-rbac.yaml');
    const text = await readFile((await download.path())!, 'utf8');
    const names = parseAllDocuments(text).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name);
    assert.deepEqual(names, ['kubegate:role:owner', 'kubegate:role:member', 'kubegate:role:viewer', 'kubegate:role:deployer']);
  });

  it("a cluster's Members page offers every role and changes a member's role in place; the next request carries it", async () => {
    assert.ok((await whoamiGroups()).includes('kubegate:role:member'));
    await page.goto(`${world.gw.url}/#/clusters/${world.clusterId}/members`);
    await page.getByRole('heading', { level: 1, name: `Members of ${world.clusterId}` }).waitFor();
    const row = page.getByLabel('Role of user:alice');
    await row.waitFor();
    assert.deepEqual(await page.getByLabel('Role', { exact: true }).locator('option').allTextContents(), [
      'Owner: manages members (cluster-admin in the cluster)',
      'Member (edit in the cluster)',
      'Viewer (view in the cluster)',
      'deployer (edit in the cluster)',
    ]);
    await row.selectOption('viewer');
    await page.getByText('user:alice is now viewer').waitFor();
    assert.deepEqual((await call(world.gw, 'GET', `/v1/clusters/${world.clusterId}/members`, { token: world.adminToken })).body.items, [
      { clusterId: world.clusterId, principal: 'user:alice', role: 'viewer' },
    ]);
    assert.ok((await whoamiGroups()).includes('kubegate:role:viewer'));

    await page.getByLabel('Kind').selectOption('group');
    await page.getByLabel('Name').fill('deployers');
    await page.getByLabel('Role', { exact: true }).selectOption('deployer');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.locator('tr[data-principal="group:deployers"]').waitFor();
    assert.equal(await page.getByLabel('Role of group:deployers').inputValue(), 'deployer');
    await shot('members-roles');

    // A role held by a member cannot be deleted: the Roles page says why.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Roles' }).click();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete role deployer' }).click();
    await page.getByRole('alert').filter({ hasText: 'held by members' }).waitFor();
    assert.deepEqual(problems.filter((p) => !p.includes('409')), []);
  });
});
