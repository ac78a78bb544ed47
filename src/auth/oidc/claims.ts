/**
 * From an ID token's claims to a kubegate user, the same for every way the token arrived
 * (docs/reference/identity.md#single-sign-on-users): username from the configured claim (with the
 * prefix rules of kube-apiserver's `--oidc-username-prefix`), groups from the groups claim with
 * their prefix, the admin flag from `--oidc-admin-groups`, and a user id derived from issuer and
 * subject, so the same person is the same user (and the same Kubernetes uid) at every login.
 */
import { hash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { OidcConfig } from '../../config/oidc-config.js';
import { GatewayError } from '../../errors.js';
import { ROLE_GROUP_PREFIX } from '../cluster-access.js';
import { AUTHENTICATED_GROUP } from '../identity.js';

/** What a login through the provider says about its user. */
export interface SsoProfile {
  /** `u-` and 24 base32 characters of SHA-256(issuer, subject): stable across logins and replicas. */
  userId: string;
  subject: string;
  username: string;
  groups: string[];
  /** From `--oidc-admin-groups`; undefined when none is configured (the stored flag stands). */
  admin: boolean | undefined;
  /** Provider groups left out (reserved names, too long, past the limit), for the log. */
  dropped: number;
}

/** A login the provider allowed that kubegate refuses; the message is for the user. */
export class SsoRefused extends GatewayError {
  constructor(
    /** `claims`: the token names no acceptable user; `disabled`: an admin disabled them; `taken`: their name is another account's. */
    readonly why: 'claims' | 'disabled' | 'taken',
    message: string,
  ) {
    super(why === 'taken' ? 'Conflict' : 'Forbidden', message);
  }
}

const refuse = (message: string): SsoRefused => new SsoRefused('claims', message);

/** The most groups a user carries (each one is an impersonation header line). */
export const MAX_GROUPS = 256;
/** Usernames and groups are at most this long (the webhook's sync format allows 256). */
const MAX_NAME = 256;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** The user id of a provider's subject: the same wherever and whenever it is computed. */
export function ssoUserId(issuer: string, subject: string): string {
  // JSON, not a separator: no issuer and subject pair can spell another's.
  const digest = hash('sha256', JSON.stringify(['kubegate-oidc-user-v1', issuer, subject]), 'buffer');
  let id = 'u-';
  for (let i = 0; i < 24; i++) id += BASE32[digest[i]! & 31];
  return id;
}

const printable = (s: string): boolean => s.length > 0 && s.length <= MAX_NAME && !/\p{Cc}/u.test(s);
// Kubernetes reserves `system:` for its own users and groups; impersonating one would be an escalation.
// kubegate's own groups (kubegate:authenticated, kubegate:role:<role>) come from kubegate alone.
const reserved = (s: string): boolean => s.startsWith('system:') || s === AUTHENTICATED_GROUP || s.startsWith(ROLE_GROUP_PREFIX);

/** The user the claims describe; throws `SsoRefused`. */
export function profileOf(claims: JWTPayload, config: OidcConfig): SsoProfile {
  for (const [key, value] of config.requiredClaims) {
    if (claims[key] !== value) throw refuse(`your account at the identity provider does not meet this gateway's requirements (claim "${key}")`);
  }
  const subject = claims.sub!;
  const claim = config.usernameClaims.find((c) => typeof claims[c] === 'string' && claims[c] !== '');
  if (claim === undefined) throw refuse(`the identity provider sent no username (claim ${config.usernameClaims.map((c) => `"${c}"`).join(' or ')})`);
  // As kube-apiserver: an email is a username only when the provider says it verified it.
  if (claim === 'email' && claims.email_verified !== undefined && claims.email_verified !== true) {
    throw refuse('your email address is not verified at the identity provider');
  }
  const prefix = config.usernamePrefix ?? (claim === 'email' ? '' : `${config.issuerUrl}#`);
  const username = prefix + (claims[claim] as string);
  if (!printable(username)) throw refuse('the username from the identity provider is empty, too long or not printable');
  if (reserved(username)) throw refuse(`the username "${username}" is reserved by Kubernetes`);

  const raw = claims[config.groupsClaim];
  const given = raw === undefined || raw === null ? [] : typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(given) || given.some((g) => typeof g !== 'string')) {
    throw refuse(`the identity provider's "${config.groupsClaim}" claim is not a list of group names`);
  }
  const providerGroups = given as string[];
  const groups: string[] = [];
  for (const g of new Set(providerGroups.map((name) => config.groupsPrefix + name))) {
    if (groups.length < MAX_GROUPS && printable(g) && !reserved(g)) groups.push(g);
  }
  const admin = config.adminGroups.length ? providerGroups.some((g) => config.adminGroups.includes(g)) : undefined;
  return { userId: ssoUserId(config.issuerUrl, subject), subject, username, groups, admin, dropped: new Set(providerGroups).size - groups.length };
}
