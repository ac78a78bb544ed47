/**
 * kubegate as an OpenID Connect relying party, with openid-client: discovery, the authorization
 * request (code flow, PKCE S256, `state` and `nonce`), the code exchange, and the device
 * authorization grant (RFC 8628). It returns the provider's raw ID token; checking it and turning
 * it into a user is the identity provider's (`oidc-identity-provider.ts`).
 *
 * Discovery runs again at the start of every login, so a provider that moved its endpoints,
 * stopped offering the device flow or went down is noticed at once, with a clear error; the
 * steps that finish a login, and bearer-token checks, use the latest discovery.
 */
import type { Logger } from 'pino';
import * as client from 'openid-client';
import type { OidcConfig } from '../../config/oidc-config.js';
import { GatewayError, unauthorized } from '../../errors.js';
import type { ProviderFetch } from './provider-fetch.js';

/** Seconds openid-client waits for each provider request. */
const REQUEST_TIMEOUT_S = 10;
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** What the provider answered a device authorization request with. */
export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | undefined;
  expiresIn: number;
  interval: number;
}

/** A device login still waiting for the user; `slowDown` when the provider asked to poll less often. */
export type DevicePending = { pending: true; slowDown: boolean };

export class RelyingParty {
  private latest: client.Configuration | undefined;
  private discovering: Promise<client.Configuration> | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly fetch: ProviderFetch,
    private readonly log: Logger,
  ) {}

  /** Discovers the provider now (each login starts here); 503 when it cannot be reached. */
  fresh(): Promise<client.Configuration> {
    this.discovering ??= this.discover().finally(() => (this.discovering = undefined));
    return this.discovering;
  }

  /** The latest discovery, or a new one when there is none yet. */
  async current(): Promise<client.Configuration> {
    return this.latest ?? this.fresh();
  }

  /** The provider's metadata an ID token is checked against. */
  async metadata(): Promise<client.ServerMetadata> {
    return (await this.current()).serverMetadata();
  }

  /** The URL to send the browser to; `redirectUri` must be registered at the provider. */
  async authorizationUrl(request: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<URL> {
    const config = await this.fresh();
    return client.buildAuthorizationUrl(config, {
      redirect_uri: request.redirectUri,
      scope: this.scopes(config),
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
    });
  }

  /**
   * Exchanges the code of an authorization response (the URL the provider redirected to, with its
   * query) for the ID token; checks `state` and the PKCE verifier.
   */
  async exchangeCode(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<string> {
    const config = await this.current();
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        pkceCodeVerifier: checks.codeVerifier,
        idTokenExpected: true,
      });
      return tokens.id_token!;
    } catch (err) {
      throw this.failure(err, 'code exchange');
    }
  }

  /** Starts a device login; 404 when the provider does not offer the device flow. */
  async startDevice(): Promise<DeviceAuthorization> {
    const config = await this.fresh();
    if (!config.serverMetadata().device_authorization_endpoint) {
      throw new GatewayError('NotFound', 'the identity provider does not offer the device flow');
    }
    try {
      const answer = await client.initiateDeviceAuthorization(config, { scope: this.scopes(config) });
      return {
        deviceCode: answer.device_code,
        userCode: answer.user_code,
        verificationUri: answer.verification_uri,
        verificationUriComplete: answer.verification_uri_complete,
        expiresIn: answer.expires_in,
        interval: answer.interval ?? 5,
      };
    } catch (err) {
      throw this.failure(err, 'device authorization');
    }
  }

  /** Polls a device login once: the ID token once the user approved, else pending. */
  async pollDevice(deviceCode: string): Promise<string | DevicePending> {
    const config = await this.current();
    try {
      const tokens = await client.genericGrantRequest(config, DEVICE_CODE_GRANT, { device_code: deviceCode });
      if (!tokens.id_token) throw unauthorized('the identity provider sent no ID token (is the "openid" scope allowed for this client?)');
      return tokens.id_token;
    } catch (err) {
      if (err instanceof client.ResponseBodyError && (err.error === 'authorization_pending' || err.error === 'slow_down')) {
        return { pending: true, slowDown: err.error === 'slow_down' };
      }
      throw this.failure(err, 'device token');
    }
  }

  private scopes(config: client.Configuration): string {
    const supported = config.serverMetadata().scopes_supported;
    return this.config.scopes.filter((s) => s === 'openid' || !supported || supported.includes(s)).join(' ');
  }

  private async discover(): Promise<client.Configuration> {
    const auth = this.config.clientSecret === undefined ? client.None() : client.ClientSecretBasic(this.config.clientSecret);
    try {
      this.latest = await client.discovery(new URL(this.config.issuerUrl), this.config.clientId, undefined, auth, {
        [client.customFetch]: this.fetch as client.CustomFetch,
        timeout: REQUEST_TIMEOUT_S,
      });
      return this.latest;
    } catch (err) {
      this.log.warn({ issuer: this.config.issuerUrl, err: describe(err) }, 'OpenID provider discovery failed');
      throw unreachable(this.config.issuerUrl, err);
    }
  }

  /** What a failed provider call means to the user; the details go to the log. */
  private failure(err: unknown, step: string): GatewayError {
    if (err instanceof GatewayError) return err;
    if (err instanceof client.ResponseBodyError || err instanceof client.AuthorizationResponseError) {
      this.log.info({ step, error: err.error, description: err.error_description }, 'the OpenID provider refused');
      switch (err.error) {
        case 'access_denied':
          return unauthorized('the login was cancelled or refused at the identity provider');
        case 'expired_token':
        case 'invalid_grant':
          return unauthorized('the login expired or was already used; start again');
        default:
          return unauthorized(`the identity provider refused the login (${err.error})`);
      }
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('OAUTH_')) {
      // openid-client found the answer non-conforming (state, nonce, issuer, ID token claims).
      this.log.warn({ step, code, err: describe(err) }, 'the OpenID provider answered something that does not check out');
      return unauthorized('the answer from the identity provider did not check out; start again');
    }
    this.log.warn({ step, err: describe(err) }, 'cannot reach the OpenID provider');
    return unreachable(this.config.issuerUrl, err);
  }
}

function unreachable(issuer: string, cause: unknown): GatewayError {
  return new GatewayError('ServiceUnavailable', `the identity provider at ${issuer} cannot be reached; try again shortly`, { cause });
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
}
