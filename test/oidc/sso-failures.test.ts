/**
 * Single sign-on when things go wrong (docs/reference/api.md#single-sign-on): what the provider
 * says no to (denied consent, an expired code), what kubegate says no to (a name taken by a local
 * user, a disabled account), hostile callbacks, the provider down (the local admin still gets in;
 * single sign-on says why it cannot), and --local-login=false. A browser always lands on a page
 * that says what happened, never a stack trace.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { ssoUserId } from '../../src/auth/oidc/claims.js';
import { CONTENT_SECURITY_POLICY } from '../../src/http/page-headers.js';
import { ADMIN_PASSWORD, call, createUser, startTestGateway, type JsonResponse } from '../support/gateway.js';
import { consentAtProvider, signInAtProvider, startSsoWorld, type SsoWorld } from '../support/sso-world.js';
import { runKubegate } from '../plugin/support.js';

describe('single sign-on: refusals, hostile callbacks, the provider down', { timeout: 240_000 }, () => {
  let world: SsoWorld;

  /** Starts a browser login and signs in at the provider; the page where the gateway leaves the browser. */
  const loginAs = async (login: string, page?: Page): Promise<Page> => {
    page ??= await (await world.browser.newContext()).newPage();
    await page.goto(`${world.gw.url}/`);
    await page.getByRole('link', { name: 'Log in with Test IdP' }).click();
    await signInAtProvider(page, login);
    await consentAtProvider(page);
    await page.waitForURL((url) => url.origin === world.gw.url);
    return page;
  };

  const errorPage = async (page: Page): Promise<{ heading: string; text: string }> => {
    const alert = page.getByRole('alert');
    await alert.waitFor();
    return { heading: (await alert.getByRole('heading').textContent()) ?? '', text: (await alert.textContent()) ?? '' };
  };

  const assertErrorPage = (res: JsonResponse, code: number, message: RegExp): void => {
    assert.equal(res.status, code, res.text);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(res.text, message);
    assert.doesNotMatch(res.text, /\bat [\w.<>]+ \(|node:internal|Error:/, 'no stack trace');
  };

  before(async () => {
    world = await startSsoWorld();
  });

  after(async () => {
    await world?.stop();
  });

  it('a refused consent at the provider ends on a page saying so', async () => {
    const page = await (await world.browser.newContext()).newPage();
    await page.goto(`${world.gw.url}/`);
    await page.getByRole('link', { name: 'Log in with Test IdP' }).click();
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    const shown = await errorPage(page);
    assert.equal(shown.heading, 'Single sign-on did not work');
    assert.match(shown.text, /The login was cancelled or refused at the identity provider\./);
    await page.getByRole('link', { name: 'Back to the login page' }).click();
    await page.getByRole('link', { name: 'Log in with Test IdP' }).waitFor();
  });

  it('an expired authorization code ends on a page saying to start again', async () => {
    // The provider issues codes that have expired by the time the gateway redeems them.
    world.provider.codesExpireAtOnce(true);
    try {
      const page = await (await world.browser.newContext()).newPage();
      await page.goto(`${world.gw.url}/`);
      await page.getByRole('link', { name: 'Log in with Test IdP' }).click();
      await signInAtProvider(page, 'alice');
      await consentAtProvider(page);
      assert.match((await errorPage(page)).text, /The login expired or was already used; start again\./);
      await page.context().close();
    } finally {
      world.provider.codesExpireAtOnce(false);
    }
  });

  it('a provider user whose username is a local user\'s is refused with a page naming the conflict', async () => {
    // "mallory" at the provider calls herself "admin": with --oidc-username-prefix=- that is the local admin's name.
    const page = await loginAs('mallory');
    assert.match((await errorPage(page)).text, /The username "admin" belongs to another kubegate account/);
    const me = await call(world.gw, 'POST', '/v1/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
    assert.equal(me.body.user.source, 'local', 'the local admin is untouched');
    const users = (await call(world.gw, 'GET', '/v1/users', { token: world.adminToken })).body.items;
    assert.equal(users.some((u: any) => u.id === ssoUserId(world.provider.issuer, 'sub-mallory-4')), false);
  });

  it('--oidc-admin-groups: a member of the provider\'s admin group is a kubegate admin, until removed from it', async () => {
    const page = await loginAs('carol');
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
    assert.match((await page.locator('#who').textContent()) ?? '', /Signed in as carol \(admin\)/);
    // The users page tells where each user comes from.
    await page.getByRole('link', { name: 'Users' }).click();
    const row = page.locator('tr[data-user="carol"]');
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /SSO · 127\.0\.0\.1/);
    await page.context().close();
    world.provider.accounts.get('carol')!.claims.groups = ['dev'];
    const again = await loginAs('carol');
    await again.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
    assert.doesNotMatch((await again.locator('#who').textContent()) ?? '', /admin/);
    await again.context().close();
  });

  it('an admin cannot give a single sign-on user a password or groups (the provider manages them)', async () => {
    const carol = ssoUserId(world.provider.issuer, 'sub-carol-3');
    const password = await call(world.gw, 'PATCH', `/v1/users/${carol}`, { token: world.adminToken, body: { password: 'a-new-password' } });
    assert.equal(password.status, 400);
    assert.match(password.body.error.message, /^password: carol signs in with single sign-on/);
    const groups = await call(world.gw, 'PATCH', `/v1/users/${carol}`, { token: world.adminToken, body: { groups: ['admins'] } });
    assert.equal(groups.status, 400);
    // And no password works for them.
    assert.equal((await call(world.gw, 'POST', '/v1/login', { body: { username: 'carol', password: 'anything' } })).status, 401);
  });

  it('a disabled single sign-on user is refused at the next login, with a page saying so', async () => {
    const carol = ssoUserId(world.provider.issuer, 'sub-carol-3');
    assert.equal((await call(world.gw, 'PATCH', `/v1/users/${carol}`, { token: world.adminToken, body: { enabled: false } })).status, 200);
    const page = await loginAs('carol');
    assert.match((await errorPage(page)).text, /Your kubegate account is disabled; ask an administrator\./);
    await page.context().close();
  });

  describe('hostile callbacks', () => {
    const callback = (query: string, headers: Record<string, string> = {}) => call(world.gw, 'GET', `/v1/oidc/callback?${query}`, { headers });
    // A login-state cookie as /v1/oidc/login sets it.
    const STATE = 'a'.repeat(43);
    const cookie = `__Secure-kubegate-oidc=${STATE}.${'b'.repeat(43)}.${'c'.repeat(43)}`;

    const cases: Array<[string, () => string, Record<string, string>, number, RegExp]> = [
      ['no login-state cookie', () => `code=abc&state=${STATE}`, {}, 400, /not started in this browser/],
      ['a state that is not the cookie\'s', () => `code=abc&state=${'z'.repeat(43)}`, { cookie }, 400, /not started in this browser/],
      ['two login-state cookies (cookie tossing)', () => `code=abc&state=${STATE}`, { cookie: `${cookie}; ${cookie}` }, 400, /not started in this browser/],
      ['a malformed login-state cookie', () => `code=abc&state=${STATE}`, { cookie: '__Secure-kubegate-oidc=short.x' }, 400, /not started in this browser/],
      ['no state', () => 'code=abc', { cookie }, 400, /has no state/],
      ['neither a code nor an error', () => `state=${STATE}`, { cookie }, 400, /neither a code nor an error/],
      ['a repeated code', () => `code=a&code=b&state=${STATE}`, { cookie }, 400, /repeats &#34;code&#34;/],
      ['a repeated state', () => `code=a&state=${STATE}&state=${STATE}`, { cookie }, 400, /repeats &#34;state&#34;/],
      ['an oversized code', () => `code=${'x'.repeat(5000)}&state=${STATE}`, { cookie }, 400, /oversized &#34;code&#34;/],
      ['a made-up code', () => `code=made-up&state=${STATE}&iss=${encodeURIComponent(world.provider.issuer)}`, { cookie }, 401, /expired or was already used/],
      [
        'markup in an error description',
        () => `error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script>')}&state=${STATE}&iss=${encodeURIComponent(world.provider.issuer)}`,
        { cookie },
        401,
        /cancelled or refused/,
      ],
      // The provider says it names itself in its answers (RFC 9207): one that does not is not its.
      ['an error answer without the provider\'s iss', () => `error=access_denied&state=${STATE}`, { cookie }, 401, /did not check out/],
      ['an answer naming another issuer', () => `code=abc&state=${STATE}&iss=https%3A%2F%2Fevil.example.com`, { cookie }, 401, /did not check out/],
    ];
    for (const [what, query, headers, code, message] of cases) {
      it(`${what}: a ${code} page, nothing logged in`, async () => {
        const res = await callback(query(), headers);
        assertErrorPage(res, code, message);
        assert.doesNotMatch(res.text, /<script>/);
        const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
        assert.ok(cookies.some((c) => c.startsWith('__Secure-kubegate-oidc=;') && c.includes('Max-Age=0')), 'the login state is cleared');
        assert.ok(!cookies.some((c) => c.startsWith('__Secure-kubegate-session=kgt_')), 'no session');
      });
    }

    it('the login start sets a short-lived, HttpOnly, SameSite=Lax state cookie and sends the browser to the provider with PKCE', async () => {
      const res = await call(world.gw, 'GET', '/v1/oidc/login');
      assert.equal(res.status, 303);
      const location = new URL(String(res.headers.location));
      assert.equal(location.origin, world.provider.issuer);
      assert.equal(location.searchParams.get('redirect_uri'), `${world.gw.url}/v1/oidc/callback`);
      assert.equal(location.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(location.searchParams.get('nonce') && location.searchParams.get('state'));
      const [set] = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      assert.match(set!, new RegExp(`^__Secure-kubegate-oidc=${location.searchParams.get('state')}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+; Path=/v1/oidc; Max-Age=600; HttpOnly; Secure; SameSite=Lax$`));
    });
  });

  it('the provider down: the local admin still logs in (API, UI, kubegate token); single sign-on says the provider cannot be reached', async () => {
    await world.provider.stop();
    try {
      assert.equal((await call(world.gw, 'POST', '/v1/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })).status, 201);
      const context = await world.browser.newContext();
      const page = await context.newPage();
      await page.goto(`${world.gw.url}/`);
      await page.getByLabel('Username').fill('admin');
      await page.getByLabel('Password').fill(ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
      await context.clearCookies();
      await page.goto(`${world.gw.url}/`);
      await page.getByRole('link', { name: 'Log in with Test IdP' }).click();
      const shown = await errorPage(page);
      assert.equal(shown.heading, 'Single sign-on is unavailable');
      assert.match(shown.text, new RegExp(`The identity provider at ${world.provider.issuer.replace(/\./g, '\\.')} cannot be reached; try again shortly\\.`));
      await context.close();

      const env = { KUBEGATE_CONFIG_DIR: `${world.dir}/plugin-down`, KUBEGATE_GATEWAY_CA_DATA: Buffer.from(world.gw.caPem!).toString('base64') };
      const sso = await runKubegate(['token', `--server=${world.gw.url}`, '--cluster=prod'], env);
      assert.equal(sso.code, 1);
      assert.equal(sso.stderr, `kubegate token: single sign-on at ${world.gw.url} failed: the identity provider at ${world.provider.issuer} cannot be reached; try again shortly\n`);
      const admin = await runKubegate(['token', `--server=${world.gw.url}`, '--cluster=prod'], { ...env, KUBEGATE_USERNAME: 'admin', KUBEGATE_PASSWORD: ADMIN_PASSWORD });
      assert.equal(admin.code, 0, admin.stderr);
      assert.equal(JSON.parse(admin.stdout).kind, 'ExecCredential');
    } finally {
      await world.provider.start();
    }
  });
});

describe('--local-login=false', () => {
  it('turns password login off for everyone but the bootstrap admin, with a message saying how to log in', async () => {
    const gw = await startTestGateway(['--local-login=false']);
    try {
      const admin = await call(gw, 'POST', '/v1/login', { body: { username: 'admin', password: ADMIN_PASSWORD } });
      assert.equal(admin.status, 201);
      await createUser(gw, admin.body.token, { username: 'olga', password: 'olga-password' });
      const olga = await call(gw, 'POST', '/v1/login', { body: { username: 'olga', password: 'olga-password' } });
      assert.equal(olga.status, 403);
      assert.equal(olga.body.error.message, 'password login is turned off on this gateway; log in with single sign-on');
      const ui = await call(gw, 'POST', '/ui/login', { body: { username: 'olga', password: 'olga-password' } });
      assert.equal(ui.status, 403);
      assert.deepEqual((await call(gw, 'GET', '/v1/login/methods')).body, { localLogin: false, sso: null });
    } finally {
      await gw.stop();
    }
  });
});
