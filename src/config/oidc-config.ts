/**
 * The single sign-on settings of `kubegate serve` (`--oidc-*`, named after kube-apiserver's, which
 * operators know; docs/reference/configuration.md#single-sign-on-openid-connect). Part of the serve
 * table (`gateway-config.ts` spreads them in); read and checked once into an `OidcConfig`.
 */
import { ConfigError } from '../errors.js';
import { settingName, type Setting, type SettingValues } from './settings.js';
import { readCertificateFile, readSecretFile } from './values.js';

export interface OidcConfig {
  /** Exactly as given: an ID token's `iss` must equal it character for character. */
  issuerUrl: string;
  clientId: string;
  /** Undefined for a public client (PKCE only). */
  clientSecret: string | undefined;
  /** Claims tried in order for the username; the first present one wins. */
  usernameClaims: readonly string[];
  /**
   * Prepended to usernames. Undefined: kube-apiserver's default (`<issuer>#` unless the username
   * came from `email`); `--oidc-username-prefix=-` gives '' (no prefix).
   */
  usernamePrefix: string | undefined;
  groupsClaim: string;
  groupsPrefix: string;
  /** Claims an ID token must carry with exactly these (string) values. */
  requiredClaims: ReadonlyMap<string, string>;
  /** PEM the provider's certificate must chain to; the system CAs when undefined. */
  caPem: string | undefined;
  /** Asked for at the provider (less what it does not advertise); `openid` always. */
  scopes: readonly string[];
  /** Provider groups (as the provider names them, before the prefix) whose members are admins. */
  adminGroups: readonly string[];
  /** The login button says "Log in with <displayName>". */
  displayName: string;
  /** Accept the provider's ID tokens as bearer tokens on `/k8s/...`. */
  acceptIdTokens: boolean;
  /** Audiences accepted besides the client id, for bearer ID tokens. */
  extraAudiences: readonly string[];
}

/** The default username claims: kube-apiserver's `--oidc-username-claim` default is `sub`; ours reads friendlier. */
export const DEFAULT_USERNAME_CLAIMS = ['preferred_username', 'email', 'sub'] as const;

const list = (raw: string): string[] =>
  raw
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function parseIssuer(name: string, raw: string): string {
  const value = raw.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(`${name}: must be an https:// URL (discovery and ID tokens need TLS)`);
  if (url.search || url.hash || url.username || url.password) throw new ConfigError(`${name}: must not carry credentials, a query or a fragment`);
  return value;
}

function parseClaimName(name: string, raw: string): string {
  const value = raw.trim();
  if (!/^[A-Za-z0-9_:./-]{1,128}$/.test(value)) throw new ConfigError(`${name}: "${raw}" is not a claim name`);
  return value;
}

function parseRequiredClaims(name: string, raw: string): ReadonlyMap<string, string> {
  const claims = new Map<string, string>();
  for (const pair of raw.split(',')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    if (eq <= 0 || !/^[A-Za-z0-9_:./-]{1,128}$/.test(key)) throw new ConfigError(`${name}: "${pair}" is not key=value`);
    claims.set(key, pair.slice(eq + 1).trim());
  }
  return claims;
}

function parsePrefix(name: string, raw: string): string {
  // Any printable text; control characters would end up in impersonation headers.
  if (/[\p{Cc}]/u.test(raw) || raw.length > 64) throw new ConfigError(`${name}: must be at most 64 printable characters`);
  return raw;
}

function parseDisplayName(name: string, raw: string): string {
  const value = raw.trim();
  if (!value || value.length > 64 || /[\p{Cc}]/u.test(value)) throw new ConfigError(`${name}: must be 1 to 64 printable characters`);
  return value;
}

function parseList(name: string, raw: string): string[] {
  const items = list(raw);
  if (items.length === 0) throw new ConfigError(`${name}: must name at least one`);
  return items;
}

/** The `--oidc-*` rows of the serve table, in the order `--help` lists them. */
export const OIDC_SETTINGS = {
  oidcIssuerUrl: {
    flag: 'oidc-issuer-url',
    env: 'KUBEGATE_OIDC_ISSUER_URL',
    help: 'single sign-on: the OpenID provider (https; discovery from /.well-known/openid-configuration)',
    parse: parseIssuer,
  },
  oidcClientId: { flag: 'oidc-client-id', env: 'KUBEGATE_OIDC_CLIENT_ID', help: "kubegate's client id at the provider", parse: (_n: string, raw: string) => raw.trim() },
  oidcClientSecretFile: {
    flag: 'oidc-client-secret-file',
    env: 'KUBEGATE_OIDC_CLIENT_SECRET_FILE',
    help: 'file holding the client secret (unset: a public client, PKCE only)',
    parse: readSecretFile,
  },
  oidcUsernameClaim: {
    flag: 'oidc-username-claim',
    env: 'KUBEGATE_OIDC_USERNAME_CLAIM',
    help: 'ID token claim holding the username (unset: preferred_username, else email, else sub)',
    parse: parseClaimName,
  },
  oidcUsernamePrefix: {
    flag: 'oidc-username-prefix',
    env: 'KUBEGATE_OIDC_USERNAME_PREFIX',
    help: 'prepended to usernames; unset: the issuer URL and "#", except for email usernames; "-": none',
    parse: parsePrefix,
  },
  oidcGroupsClaim: { flag: 'oidc-groups-claim', env: 'KUBEGATE_OIDC_GROUPS_CLAIM', default: 'groups', help: 'ID token claim holding the groups', parse: parseClaimName },
  oidcGroupsPrefix: { flag: 'oidc-groups-prefix', env: 'KUBEGATE_OIDC_GROUPS_PREFIX', help: 'prepended to every group from the provider', parse: parsePrefix },
  oidcRequiredClaim: {
    flag: 'oidc-required-claim',
    env: 'KUBEGATE_OIDC_REQUIRED_CLAIM',
    repeatable: true,
    help: 'key=value an ID token must carry; the environment variable takes a comma-separated list',
    parse: parseRequiredClaims,
  },
  oidcCaFile: { flag: 'oidc-ca-file', env: 'KUBEGATE_OIDC_CA_FILE', help: "CA bundle (PEM) for the provider's certificate (else the system CAs)", parse: readCertificateFile },
  oidcScopes: {
    flag: 'oidc-scopes',
    env: 'KUBEGATE_OIDC_SCOPES',
    default: 'openid profile email groups',
    help: 'scopes asked for, less those the provider does not advertise',
    parse: parseList,
  },
  oidcAdminGroups: { flag: 'oidc-admin-groups', env: 'KUBEGATE_OIDC_ADMIN_GROUPS', help: 'provider groups (comma-separated, unprefixed) whose members are kubegate admins', parse: parseList },
  oidcDisplayName: { flag: 'oidc-display-name', env: 'KUBEGATE_OIDC_DISPLAY_NAME', default: 'single sign-on', help: 'the login button says "Log in with" and this', parse: parseDisplayName },
  oidcAcceptIdTokens: { flag: 'oidc-accept-id-tokens', env: 'KUBEGATE_OIDC_ACCEPT_ID_TOKENS', boolean: true, help: "accept the provider's ID tokens as bearer tokens on /k8s/... (gateway only)" },
  oidcExtraAudiences: {
    flag: 'oidc-extra-audiences',
    env: 'KUBEGATE_OIDC_EXTRA_AUDIENCES',
    help: 'audiences (comma-separated) accepted besides the client id, for bearer ID tokens',
    parse: parseList,
  },
} as const;

/** The `OidcConfig` the settings describe; undefined without `--oidc-issuer-url`. Throws `ConfigError`. */
export function oidcConfigOf(v: SettingValues<typeof OIDC_SETTINGS>): OidcConfig | undefined {
  const s = OIDC_SETTINGS;
  if (v.oidcIssuerUrl === undefined) {
    const stray = (Object.keys(s) as Array<keyof typeof s>).find((k) => k !== 'oidcIssuerUrl' && isGiven(k, v));
    if (stray) throw new ConfigError(`${settingName(s[stray])} needs ${settingName(s.oidcIssuerUrl)}`);
    return undefined;
  }
  if (!v.oidcClientId) throw new ConfigError(`${settingName(s.oidcClientId)} is required with ${settingName(s.oidcIssuerUrl)}`);
  const scopes = new Set(['openid', ...v.oidcScopes]);
  return {
    issuerUrl: v.oidcIssuerUrl,
    clientId: v.oidcClientId,
    clientSecret: v.oidcClientSecretFile,
    usernameClaims: v.oidcUsernameClaim === undefined ? DEFAULT_USERNAME_CLAIMS : [v.oidcUsernameClaim],
    usernamePrefix: v.oidcUsernamePrefix === undefined ? undefined : v.oidcUsernamePrefix === '-' ? '' : v.oidcUsernamePrefix,
    groupsClaim: v.oidcGroupsClaim,
    groupsPrefix: v.oidcGroupsPrefix ?? '',
    requiredClaims: v.oidcRequiredClaim ?? new Map(),
    caPem: v.oidcCaFile,
    scopes: [...scopes],
    adminGroups: v.oidcAdminGroups ?? [],
    displayName: v.oidcDisplayName,
    acceptIdTokens: v.oidcAcceptIdTokens,
    extraAudiences: v.oidcExtraAudiences ?? [],
  };
}

/** Set by the operator to something other than its default. */
function isGiven(key: keyof typeof OIDC_SETTINGS, v: SettingValues<typeof OIDC_SETTINGS>): boolean {
  const setting: Setting = OIDC_SETTINGS[key];
  const value = v[key];
  if (setting.boolean) return value === true;
  if (setting.default !== undefined) return (Array.isArray(value) ? value.join(' ') : value) !== setting.default;
  return value !== undefined;
}
