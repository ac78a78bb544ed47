/** From ID token claims to a kubegate user (src/auth/oidc/claims.ts, docs/reference/identity.md#single-sign-on-users). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { profileOf, SsoRefused, ssoUserId, MAX_GROUPS } from '../../src/auth/oidc/claims.js';
import type { OidcConfig } from '../../src/config/oidc-config.js';

const ISSUER = 'https://idp.example.com';
const config = (change: Partial<OidcConfig> = {}): OidcConfig => ({
  issuerUrl: ISSUER,
  clientId: 'kubegate',
  clientSecret: undefined,
  usernameClaims: ['preferred_username', 'email', 'sub'],
  usernamePrefix: undefined,
  groupsClaim: 'groups',
  groupsPrefix: '',
  requiredClaims: new Map(),
  caPem: undefined,
  scopes: ['openid'],
  adminGroups: [],
  displayName: 'SSO',
  acceptIdTokens: false,
  extraAudiences: [],
  ...change,
});

const refused = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof SsoRefused && err.why === 'claims' && err.code === 403 && message.test(err.message));
};

describe('profileOf', () => {
  it('derives a stable user id from issuer and subject: the same every time, different per issuer or subject', () => {
    const id = ssoUserId(ISSUER, 'abc');
    assert.match(id, /^u-[a-z2-7]{24}$/);
    assert.equal(ssoUserId(ISSUER, 'abc'), id);
    assert.notEqual(ssoUserId(`${ISSUER}/`, 'abc'), id);
    assert.notEqual(ssoUserId(ISSUER, 'abd'), id);
    // No ambiguity where issuer and subject meet.
    assert.notEqual(ssoUserId('https://a', 'b\0c'), ssoUserId('https://a\0b', 'c'));
    assert.equal(profileOf({ sub: 'abc', preferred_username: 'alice' }, config()).userId, id);
  });

  const usernames: Array<[string, Record<string, unknown>, Partial<OidcConfig>, string]> = [
    ['preferred_username, issuer-prefixed by default (kube-apiserver)', { preferred_username: 'alice', email: 'a@x.com' }, {}, `${ISSUER}#alice`],
    ['email when there is no preferred_username, unprefixed', { email: 'a@x.com', email_verified: true }, {}, 'a@x.com'],
    ['email with no email_verified claim at all', { email: 'a@x.com' }, {}, 'a@x.com'],
    ['sub as the last resort, prefixed', {}, {}, `${ISSUER}#sub-1`],
    ['"-": no prefix at all', { preferred_username: 'alice' }, { usernamePrefix: '' }, 'alice'],
    ['an explicit prefix, also for email', { email: 'a@x.com' }, { usernamePrefix: 'oidc:' }, 'oidc:a@x.com'],
    ['only the configured claim', { preferred_username: 'alice', upn: 'alice@corp' }, { usernameClaims: ['upn'], usernamePrefix: '' }, 'alice@corp'],
  ];
  for (const [what, claims, change, expected] of usernames) {
    it(`username: ${what}`, () => assert.equal(profileOf({ sub: 'sub-1', ...claims }, config(change)).username, expected));
  }

  it('refuses an unverified email as username, a missing claim, reserved and unprintable names', () => {
    refused(() => profileOf({ sub: 's', email: 'a@x.com', email_verified: false }, config()), /email address is not verified/);
    refused(() => profileOf({ sub: 's' }, config({ usernameClaims: ['upn'] })), /sent no username \(claim "upn"\)/);
    refused(() => profileOf({ sub: 's', preferred_username: 'system:admin' }, config({ usernamePrefix: '' })), /reserved by Kubernetes/);
    refused(() => profileOf({ sub: 's', preferred_username: 'a\nb' }, config({ usernamePrefix: '' })), /not printable/);
    refused(() => profileOf({ sub: 's', preferred_username: 'a'.repeat(257) }, config({ usernamePrefix: '' })), /too long/);
    refused(() => profileOf({ sub: 's', preferred_username: 42 }, config({ usernameClaims: ['preferred_username'] })), /sent no username/);
  });

  it('groups: prefixed, deduplicated, a single string accepted; reserved, unprintable and surplus ones left out', () => {
    const p = profileOf({ sub: 's', preferred_username: 'a', groups: ['dev', 'dev', 'ops', 'system:masters', 'kubegate:authenticated', 'x\ty', ''] }, config({ groupsPrefix: 'oidc:' }));
    assert.deepEqual(p.groups, ['oidc:dev', 'oidc:ops', 'oidc:system:masters', 'oidc:kubegate:authenticated', 'oidc:']);
    const unprefixed = profileOf({ sub: 's', preferred_username: 'a', groups: ['dev', 'system:masters', 'kubegate:authenticated'] }, config());
    assert.deepEqual(unprefixed.groups, ['dev'], 'without a prefix, names Kubernetes or kubegate reserve are dropped');
    assert.equal(unprefixed.dropped, 2);
    assert.deepEqual(profileOf({ sub: 's', preferred_username: 'a', groups: 'solo' }, config()).groups, ['solo']);
    assert.deepEqual(profileOf({ sub: 's', preferred_username: 'a' }, config()).groups, []);
    const many = profileOf({ sub: 's', preferred_username: 'a', groups: Array.from({ length: 300 }, (_, i) => `g${i}`) }, config());
    assert.equal(many.groups.length, MAX_GROUPS);
    refused(() => profileOf({ sub: 's', preferred_username: 'a', groups: [1, 2] }, config()), /"groups" claim is not a list of group names/);
    refused(() => profileOf({ sub: 's', preferred_username: 'a', groups: { a: 1 } }, config()), /not a list of group names/);
  });

  it('admin from --oidc-admin-groups (unprefixed provider names); undefined when none is configured', () => {
    assert.equal(profileOf({ sub: 's', preferred_username: 'a', groups: ['sre'] }, config({ adminGroups: ['sre'], groupsPrefix: 'oidc:' })).admin, true);
    assert.equal(profileOf({ sub: 's', preferred_username: 'a', groups: ['dev'] }, config({ adminGroups: ['sre'] })).admin, false);
    assert.equal(profileOf({ sub: 's', preferred_username: 'a', groups: ['sre'] }, config()).admin, undefined);
  });

  it('required claims must carry exactly the configured value', () => {
    const c = config({ requiredClaims: new Map([['hd', 'example.com']]) });
    assert.equal(profileOf({ sub: 's', preferred_username: 'a', hd: 'example.com' }, c).username, `${ISSUER}#a`);
    refused(() => profileOf({ sub: 's', preferred_username: 'a', hd: 'evil.com' }, c), /requirements \(claim "hd"\)/);
    refused(() => profileOf({ sub: 's', preferred_username: 'a' }, c), /claim "hd"/);
    refused(() => profileOf({ sub: 's', preferred_username: 'a', hd: ['example.com'] }, c), /claim "hd"/);
  });
});
