/** The `--oidc-*` settings of `kubegate serve` (docs/reference/configuration.md#single-sign-on-openid-connect). */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadGatewayConfig } from '../../src/config/gateway-config.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'kubegate-oidc-config-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, 's3cret\n');
const BASE = ['--oidc-issuer-url', 'https://idp.example.com', '--oidc-client-id', 'kubegate'];

describe('single sign-on settings', () => {
  it('is off without --oidc-issuer-url; local login is on', () => {
    const c = loadGatewayConfig([], {});
    assert.equal(c.oidc, undefined);
    assert.equal(c.localLogin, true);
  });

  it('applies kube-apiserver-like defaults', () => {
    const c = loadGatewayConfig(BASE, {}).oidc!;
    assert.deepEqual(c, {
      issuerUrl: 'https://idp.example.com',
      clientId: 'kubegate',
      clientSecret: undefined,
      usernameClaims: ['preferred_username', 'email', 'sub'],
      usernamePrefix: undefined,
      groupsClaim: 'groups',
      groupsPrefix: '',
      requiredClaims: new Map(),
      caPem: undefined,
      scopes: ['openid', 'profile', 'email', 'groups'],
      adminGroups: [],
      displayName: 'single sign-on',
      acceptIdTokens: false,
      extraAudiences: [],
    });
  });

  it('reads every flag, and the environment', () => {
    const c = loadGatewayConfig(
      [
        ...BASE,
        '--oidc-client-secret-file', secretFile,
        '--oidc-username-claim', 'email',
        '--oidc-username-prefix', 'oidc:',
        '--oidc-groups-claim', 'roles',
        '--oidc-groups-prefix', 'oidc:',
        '--oidc-required-claim', 'hd=example.com',
        '--oidc-required-claim', 'tenant=a=b',
        '--oidc-scopes', 'openid,email',
        '--oidc-admin-groups', 'admins, sre',
        '--oidc-display-name', 'Example SSO',
        '--oidc-accept-id-tokens',
        '--oidc-extra-audiences', 'ci,deploy',
        '--local-login=false',
      ],
      {},
    );
    assert.equal(c.localLogin, false);
    assert.deepEqual(
      { ...c.oidc!, requiredClaims: [...c.oidc!.requiredClaims] },
      {
        issuerUrl: 'https://idp.example.com',
        clientId: 'kubegate',
        clientSecret: 's3cret',
        usernameClaims: ['email'],
        usernamePrefix: 'oidc:',
        groupsClaim: 'roles',
        groupsPrefix: 'oidc:',
        requiredClaims: [['hd', 'example.com'], ['tenant', 'a=b']],
        caPem: undefined,
        scopes: ['openid', 'email'],
        adminGroups: ['admins', 'sre'],
        displayName: 'Example SSO',
        acceptIdTokens: true,
        extraAudiences: ['ci', 'deploy'],
      },
    );
    const env = loadGatewayConfig([], {
      KUBEGATE_OIDC_ISSUER_URL: 'https://idp.example.com/realms/corp',
      KUBEGATE_OIDC_CLIENT_ID: 'kg',
      KUBEGATE_OIDC_REQUIRED_CLAIM: 'a=1,b=2',
      KUBEGATE_OIDC_USERNAME_PREFIX: '-',
      KUBEGATE_LOCAL_LOGIN: 'false',
    });
    assert.deepEqual([env.oidc!.issuerUrl, env.oidc!.clientId, [...env.oidc!.requiredClaims], env.oidc!.usernamePrefix, env.localLogin], [
      'https://idp.example.com/realms/corp',
      'kg',
      [['a', '1'], ['b', '2']],
      '',
      false,
    ]);
  });

  it('keeps the issuer exactly as given (an ID token\'s iss must equal it)', () => {
    assert.equal(loadGatewayConfig(['--oidc-issuer-url', 'https://idp.example.com/', '--oidc-client-id', 'x'], {}).oidc!.issuerUrl, 'https://idp.example.com/');
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['an http issuer', ['--oidc-issuer-url', 'http://idp.example.com', '--oidc-client-id', 'x'], /--oidc-issuer-url \(KUBEGATE_OIDC_ISSUER_URL\): must be an https:\/\/ URL/],
    ['an issuer with a query', ['--oidc-issuer-url', 'https://idp.example.com/?a=1', '--oidc-client-id', 'x'], /must not carry credentials, a query or a fragment/],
    ['no client id', ['--oidc-issuer-url', 'https://idp.example.com'], /--oidc-client-id \(KUBEGATE_OIDC_CLIENT_ID\) is required with --oidc-issuer-url/],
    ['an --oidc flag without an issuer', ['--oidc-client-id', 'x'], /--oidc-client-id \(KUBEGATE_OIDC_CLIENT_ID\) needs --oidc-issuer-url/],
    ['--oidc-accept-id-tokens without an issuer', ['--oidc-accept-id-tokens'], /--oidc-accept-id-tokens \(KUBEGATE_OIDC_ACCEPT_ID_TOKENS\) needs --oidc-issuer-url/],
    ['a required claim without =', [...BASE, '--oidc-required-claim', 'hd'], /--oidc-required-claim \(KUBEGATE_OIDC_REQUIRED_CLAIM\): "hd" is not key=value/],
    ['an empty repeated flag', [...BASE, '--oidc-required-claim', 'a=b', '--oidc-required-claim', ''], /--oidc-required-claim \(KUBEGATE_OIDC_REQUIRED_CLAIM\) must not be empty/],
    ['a missing secret file', [...BASE, '--oidc-client-secret-file', join(dir, 'nope')], /--oidc-client-secret-file \(KUBEGATE_OIDC_CLIENT_SECRET_FILE\): cannot read .*ENOENT/],
    ['a CA file that is not a certificate', [...BASE, '--oidc-ca-file', secretFile], /--oidc-ca-file \(KUBEGATE_OIDC_CA_FILE\): .* is not a PEM certificate/],
    ['a claim name with spaces', [...BASE, '--oidc-groups-claim', 'my groups'], /"my groups" is not a claim name/],
    ['a prefix with a newline', [...BASE, '--oidc-groups-prefix', 'a\nb'], /must be at most 64 printable characters/],
    ['--local-login=maybe', ['--local-login=maybe'], /--local-login \(KUBEGATE_LOCAL_LOGIN\): "maybe" is not a boolean/],
  ];
  for (const [what, argv, message] of bad) {
    it(`refuses ${what} with one line naming the setting`, () => {
      assert.throws(() => loadGatewayConfig(argv, {}), (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'));
    });
  }
});
