/**
 * `kubegate token` logging in with single sign-on when the gateway offers it
 * (docs/reference/kubeconfig.md#single-sign-on): the OAuth 2.0 device authorization grant
 * (RFC 8628) when the provider supports it (the verification URL and the code go to stderr), else
 * the authorization code flow with PKCE and a loopback redirect (RFC 8252), as kubelogin does: the
 * browser is opened on the provider's login, and the URL printed in case it cannot be. Either way
 * the gateway holds the client secret and talks to the provider; this side carries only the device
 * code, or its own `state`, `nonce` and PKCE verifier. Loaded only when a login is needed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { openBrowser } from './browser.js';
import { callGateway, errorMessage, loginAnswerOf, type GatewayTarget, type LoginAnswer } from './gateway-client.js';
import { awaitLoopbackRedirect, listenOnLoopback } from './loopback.js';
import { PluginError } from './plugin-error.js';

export interface SsoLoginOptions {
  clusterId: string;
  /** The provider's name as the gateway shows it ("Log in with …"). */
  displayName: string;
  /** `KUBEGATE_BROWSER`: the command that opens a URL; `none` never opens one. */
  browser: string | undefined;
  /** `KUBEGATE_LOOPBACK_PORTS`: ports tried for the loopback redirect, in order (0: any free port). */
  loopbackPorts: readonly number[];
  /** How long the user has to finish in the browser (loopback flow), ms. */
  timeoutMs?: number;
}

const say = (line: string): void => void process.stderr.write(`kubegate: ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const random = (): string => randomBytes(32).toString('base64url');

/** Logs in through the gateway's identity provider; the cluster-scoped session token. */
export async function ssoLogin(target: GatewayTarget, options: SsoLoginOptions): Promise<LoginAnswer> {
  const started = await callGateway(target, 'POST', '/v1/oidc/device', {});
  if (started.status === 200) return deviceLogin(target, options, JSON.parse(started.body) as DeviceStart);
  // 404: the provider offers no device flow; anything else is an error worth showing as it is.
  if (started.status !== 404) throw refused(target, started);
  return loopbackLogin(target, options);
}

interface DeviceStart {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresIn: number;
  interval: number;
}

async function deviceLogin(target: GatewayTarget, options: SsoLoginOptions, device: DeviceStart): Promise<LoginAnswer> {
  say(`to log in to ${target.server} with ${options.displayName}, open ${device.verificationUriComplete ?? device.verificationUri}`);
  say(`and confirm the code ${device.userCode} (it expires in ${Math.round(device.expiresIn / 60)} minutes)`);
  const deadline = Date.now() + device.expiresIn * 1000;
  let interval = Math.max(1, device.interval) * 1000;
  while (Date.now() < deadline) {
    await sleep(interval);
    const res = await callGateway(target, 'POST', '/v1/oidc/device/token', { deviceCode: device.deviceCode, clusterId: options.clusterId, description: 'kubegate token plugin (single sign-on)' });
    if (res.status === 201) return loginAnswerOf(target, res);
    if (res.status !== 202) throw refused(target, res);
    // RFC 8628 §3.5: slow_down adds five seconds to the interval, for good.
    if ((JSON.parse(res.body) as { slowDown?: boolean }).slowDown) interval += 5_000;
  }
  throw new PluginError(`the login code expired before it was confirmed; run the command again`);
}

async function loopbackLogin(target: GatewayTarget, options: SsoLoginOptions): Promise<LoginAnswer> {
  const state = random();
  const nonce = random();
  const codeVerifier = random();
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
  const loopback = await listenOnLoopback(options.loopbackPorts);
  try {
    const redirectUri = `http://127.0.0.1:${loopback.port}/callback`;
    const res = await callGateway(target, 'POST', '/v1/oidc/authorize', { redirectUri, state, nonce, codeChallenge });
    if (res.status !== 200) throw refused(target, res);
    const { authorizationUrl } = JSON.parse(res.body) as { authorizationUrl: string };
    say(`to log in to ${target.server} with ${options.displayName}, open this URL in a browser (opening it for you where one can be opened):`);
    process.stderr.write(`${authorizationUrl}\n`);
    if (options.browser !== 'none') openBrowser(authorizationUrl, options.browser);
    return await awaitLoopbackRedirect(loopback, {
      state,
      timeoutMs: options.timeoutMs ?? 5 * 60_000,
      // The browser's answer waits for the gateway's, so the page can say whether it worked.
      complete: async (callbackUrl) => {
        const done = await callGateway(target, 'POST', '/v1/oidc/code', {
          callbackUrl,
          state,
          nonce,
          codeVerifier,
          clusterId: options.clusterId,
          description: 'kubegate token plugin (single sign-on)',
        });
        if (done.status !== 201) throw refused(target, done);
        return loginAnswerOf(target, done);
      },
    });
  } finally {
    loopback.close();
  }
}

function refused(target: GatewayTarget, res: { status: number; body: string }): PluginError {
  return new PluginError(`single sign-on at ${target.server} failed: ${errorMessage(res.body) ?? `HTTP ${res.status}`}`);
}
