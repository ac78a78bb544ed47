/**
 * Single sign-on end to end: the test OpenID provider (`oidc-provider.ts`), a gateway configured
 * for it, the kube-apiserver double behind both doors (through the gateway, and straight with
 * `kubegate webhook` answering its TokenReviews), and Chromium driving the provider's pages.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startKubeDouble, type KubeDouble } from '../kube-double/index.js';
import { eventually, healthz, runKubegate, startWebhookProcess, type WebhookProcess } from '../webhook/support.js';
import { ADMIN_PASSWORD, call, freePort, login, startTestGateway, type TestGateway } from './gateway.js';
import { startTestProvider, type TestAccount, type TestProvider } from './oidc-provider.js';
import { X509Certificate, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export const CLIENT_ID = 'kubegate';
export const CLIENT_SECRET = 'kubegate-test-client-secret';
export const CLUSTER = 'prod';
export const PUBLIC_CLIENT_ID = 'kubegate-public';

/** The provider's users: alice and bob work in dev, carol runs the platform, "admin" would collide with the local admin. */
export const ACCOUNTS: Record<string, TestAccount> = {
  alice: { sub: 'sub-alice-1', claims: { preferred_username: 'alice', email: 'alice@example.com', email_verified: true, groups: ['dev', 'ops'] } },
  bob: { sub: 'sub-bob-2', claims: { preferred_username: 'bob', email: 'bob@example.com', email_verified: true, groups: ['dev'] } },
  carol: { sub: 'sub-carol-3', claims: { preferred_username: 'carol', groups: ['platform-admins'] } },
  mallory: { sub: 'sub-mallory-4', claims: { preferred_username: 'admin', groups: ['dev'] } },
  nogroups: { sub: 'sub-nogroups-5', claims: { preferred_username: 'dana' } },
};

export interface SsoWorld {
  provider: TestProvider;
  gw: TestGateway;
  double: KubeDouble;
  webhook: WebhookProcess;
  browser: Browser;
  adminToken: string;
  dir: string;
  /** The port `kubegate token`'s loopback redirect is registered for at the provider. */
  loopbackPort: number;
  /** Files for --oidc-ca-file and --oidc-client-secret-file. */
  caFile: string;
  secretFile: string;
  /** The --oidc-* flags the gateway runs with (without --oidc-accept-id-tokens). */
  oidcFlags: string[];
  stop(): Promise<void>;
}

/** Chromium trusting exactly the given serving keys (SPKI hashes), as test/ui/ui.test.ts launches it. */
export function launchChromium(spkis: string[]): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', `--ignore-certificate-errors-spki-list=${spkis.join(',')}`,
    ],
  });
}

/** The provider's login page (its development interactions): the login, any password. */
export async function signInAtProvider(page: Page, login: string): Promise<void> {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** The provider's consent page, when it shows one. */
export async function consentAtProvider(page: Page): Promise<void> {
  const consent = page.getByRole('button', { name: 'Continue' });
  if (await consent.isVisible().catch(() => false)) await consent.click();
}

/** Completes a device login in the browser: the verification page, the provider's login and consent. */
export async function confirmDevice(browser: Browser, verificationUrl: string, login: string): Promise<void> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(verificationUrl);
    // verification_uri_complete shows the code to confirm; the plain URI asks for it first.
    await page.getByRole('button', { name: 'Continue' }).click();
    await signInAtProvider(page, login);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Sign-in Success').waitFor();
  } finally {
    await context.close();
  }
}

async function spkiOf(certFile: string): Promise<string> {
  const cert = new X509Certificate(await readFile(certFile));
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** Starts everything; the gateway gets `extraFlags` after the --oidc-* ones. */
export async function startSsoWorld(extraFlags: string[] = []): Promise<SsoWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-sso-'));
  const gwPort = await freePort();
  const loopbackPort = await freePort();
  const gatewayUrl = `https://127.0.0.1:${gwPort}`;
  const provider = await startTestProvider({
    clients: [
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [`${gatewayUrl}/v1/oidc/callback`, `http://127.0.0.1:${loopbackPort}/callback`] },
      // A CI job's own client: its ID tokens are for it, accepted through --oidc-extra-audiences.
      { client_id: 'ci-job', client_secret: 'ci-job-secret', redirect_uris: ['http://127.0.0.1:1/unused'] },
      // kubegate registered as a public client (no secret: PKCE and the device flow only).
      { client_id: PUBLIC_CLIENT_ID, token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:1/unused'] },
    ],
    accounts: ACCOUNTS,
  });
  const caFile = join(dir, 'idp-ca.pem');
  const secretFile = join(dir, 'client-secret');
  await writeFile(caFile, provider.caPem);
  await writeFile(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
  const oidcFlags = [
    '--oidc-issuer-url', provider.issuer,
    '--oidc-client-id', CLIENT_ID,
    '--oidc-client-secret-file', secretFile,
    '--oidc-ca-file', caFile,
    '--oidc-username-prefix', '-',
    '--oidc-groups-prefix', 'oidc:',
    '--oidc-admin-groups', 'platform-admins',
    '--oidc-display-name', 'Test IdP',
    '--oidc-extra-audiences', 'ci-job',
  ];
  const gw = await startTestGateway(['--listen', `127.0.0.1:${gwPort}`, '--public-url', gatewayUrl, ...oidcFlags, ...extraFlags], { dir: join(dir, 'gateway') });
  const adminToken = await login(gw, 'admin', ADMIN_PASSWORD);

  // The direct door: the cluster is registered first (its agent token configures the webhook),
  // then the double starts with the webhook config, then the cluster points at the double.
  const registered = await call(gw, 'POST', '/v1/clusters', { token: adminToken, body: { id: CLUSTER, server: 'https://127.0.0.1:1', credential: { token: 'x' } } });
  if (registered.status !== 201) throw new Error(`register cluster: ${registered.status} ${registered.text}`);
  await writeFile(join(dir, 'agent-token'), `${registered.body.agentToken}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'gateway-ca.crt'), gw.caPem!);
  const webhook = await startWebhookProcess([
    `--gateway=${gw.url}`,
    `--cluster=${CLUSTER}`,
    `--agent-token-file=${join(dir, 'agent-token')}`,
    `--gateway-ca-file=${join(dir, 'gateway-ca.crt')}`,
    `--state-dir=${join(dir, 'webhook-state')}`,
    '--listen=127.0.0.1:0',
  ]);
  await eventually('the webhook to load its first copy', async () => (await healthz(webhook.url)) === 200);
  const rendered = await runKubegate(['render', 'webhook-config']);
  const webhookConfig = join(dir, 'kube-api-authn-webhook.yaml');
  await writeFile(webhookConfig, rendered.stdout.replace('127.0.0.1:6440', `127.0.0.1:${webhook.port}`));
  const double = await startKubeDouble({ webhookConfigFile: webhookConfig, webhookCacheTtlMs: 300 });
  const caData = Buffer.from(double.caPem).toString('base64');
  const patched = await call(gw, 'PATCH', `/v1/clusters/${CLUSTER}`, {
    token: adminToken,
    body: {
      server: double.url,
      caData,
      credential: { token: double.gatewayToken },
      authorizedEndpoint: { enabled: true, caData, controlPlaneNodes: [{ name: 'cp-1', address: `127.0.0.1:${double.port}` }] },
    },
  });
  if (patched.status !== 200) throw new Error(`patch cluster: ${patched.status} ${patched.text}`);

  const browser = await launchChromium([provider.spki, await spkiOf(join(dir, 'gateway', 'certs', 'server.crt'))]);
  return {
    provider,
    gw,
    double,
    webhook,
    browser,
    adminToken,
    dir,
    loopbackPort,
    caFile,
    secretFile,
    oidcFlags,
    async stop() {
      await browser.close().catch(() => {});
      await webhook.stop();
      await double.stop();
      await gw.stop();
      await provider.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
