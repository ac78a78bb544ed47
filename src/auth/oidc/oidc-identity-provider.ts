/**
 * The `oidc:<issuer>` identity provider: single sign-on through an OpenID provider. Every way in
 * ends the same: the provider's ID token is verified (`id-token.ts`), its claims become a profile
 * (`claims.ts`), and the profile a user in the store (`provisioning.ts`); the routes then issue a
 * kubegate token for that user exactly as after a password login.
 *
 * - browser and `kubegate token` without a device flow: authorization code with PKCE
 *   (`authorizationUrl`, then `completeAuthorization` with the URL the provider redirected to);
 * - `kubegate token`: the device authorization grant (`startDevice`, then `pollDevice`);
 * - bearer ID tokens on `/k8s/...` (`--oidc-accept-id-tokens`): `verifyBearer`.
 */
import type { Logger } from 'pino';
import type { OidcConfig } from '../../config/oidc-config.js';
import { unauthorized } from '../../errors.js';
import type { Store, User, UserSource } from '../../store/store.js';
import type { IdentityProvider } from '../identity-provider.js';
import type { RevocationBus } from '../revocations.js';
import { profileOf, type SsoProfile } from './claims.js';
import { acceptedAlgorithms, IdTokenRejected, IdTokenVerifier } from './id-token.js';
import { providerFetch, type ProviderFetch } from './provider-fetch.js';
import { RelyingParty, type DeviceAuthorization, type DevicePending } from './relying-party.js';
import { SigningKeys } from './signing-keys.js';
import { SsoUsers } from './provisioning.js';

export type { DeviceAuthorization, DevicePending };

export interface OidcProviderDeps {
  config: OidcConfig;
  store: Store;
  revocations: RevocationBus;
  log: Logger;
  clock?: () => number;
  /** Replaces the provider HTTP client (tests). */
  fetch?: ProviderFetch;
}

/** A verified bearer ID token: who it names, the stored user behind it, and when it expires. */
export interface BearerVerdict {
  profile: SsoProfile;
  user: User;
  /** Epoch ms. */
  expiresAt: number;
}

export class OidcIdentityProvider implements IdentityProvider {
  readonly source: UserSource;
  readonly displayName: string;
  readonly acceptsBearerTokens: boolean;
  /** The provider's signing keys (exposed for metrics and tests). */
  readonly keys: SigningKeys;
  private readonly rp: RelyingParty;
  private readonly verifier: IdTokenVerifier;
  private readonly users: SsoUsers;
  private readonly config: OidcConfig;
  private readonly log: Logger;

  constructor(deps: OidcProviderDeps) {
    const { config, log } = deps;
    this.config = config;
    this.log = log;
    this.source = `oidc:${config.issuerUrl}`;
    this.displayName = config.displayName;
    this.acceptsBearerTokens = config.acceptIdTokens;
    const fetch = deps.fetch ?? providerFetch(config.caPem);
    this.rp = new RelyingParty(config, fetch, log);
    this.keys = new SigningKeys({ fetch, jwksUri: async () => (await this.rp.metadata()).jwks_uri!, clock: deps.clock });
    this.verifier = new IdTokenVerifier({
      keys: this.keys,
      provider: async () => {
        const m = await this.rp.metadata();
        return { issuer: m.issuer, algorithms: acceptedAlgorithms(m.id_token_signing_alg_values_supported) };
      },
      clock: deps.clock,
    });
    this.users = new SsoUsers(deps.store, deps.revocations, this.source, log);
  }

  /** Where to send the user's browser to log in (discovers the provider afresh). */
  authorizationUrl(request: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<URL> {
    return this.rp.authorizationUrl(request);
  }

  /** Finishes a code-flow login from the URL the provider redirected to: the user, provisioned. */
  async completeAuthorization(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<User> {
    const idToken = await this.rp.exchangeCode(callbackUrl, checks);
    return this.loginWith(idToken, checks.nonce);
  }

  /** Starts a device login (404 when the provider has no device flow). */
  startDevice(): Promise<DeviceAuthorization> {
    return this.rp.startDevice();
  }

  /** One poll of a device login: the user once approved, else pending. */
  async pollDevice(deviceCode: string): Promise<User | DevicePending> {
    const answer = await this.rp.pollDevice(deviceCode);
    return typeof answer === 'string' ? this.loginWith(answer, undefined) : answer;
  }

  /**
   * A bearer ID token (`--oidc-accept-id-tokens`): verified for the client id or an extra
   * audience, its user made sure of. Throws `IdTokenRejected`, or a 403/409 `GatewayError` for a
   * token whose claims name no acceptable user.
   */
  async verifyBearer(token: string): Promise<BearerVerdict> {
    const claims = await this.verifier.verify(token, { audiences: [this.config.clientId, ...this.config.extraAudiences] });
    const profile = profileOf(claims, this.config);
    return { profile, user: await this.users.ensure(profile), expiresAt: claims.exp! * 1000 };
  }

  private async loginWith(idToken: string, nonce: string | undefined): Promise<User> {
    let claims;
    try {
      claims = await this.verifier.verify(idToken, { audiences: [this.config.clientId], nonce });
    } catch (err) {
      if (!(err instanceof IdTokenRejected)) throw err;
      this.log.warn({ fault: err.fault, detail: err.message }, 'refused an ID token from the OpenID provider');
      throw unauthorized('the identity provider sent an ID token that does not check out; start again');
    }
    const profile = profileOf(claims, this.config);
    if (profile.dropped) this.log.warn({ user: profile.username, dropped: profile.dropped }, 'left out provider groups (reserved names, too long, or past the limit)');
    return this.users.provision(profile);
  }
}
