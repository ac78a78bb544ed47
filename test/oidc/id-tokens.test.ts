/**
 * The provider's ID tokens as bearer tokens on `/k8s/...` (`--oidc-accept-id-tokens`,
 * docs/reference/api.md#bearer-id-tokens): a real one from the provider runs as the identity a
 * browser login gives, membership rules apply, the direct door never takes one, and every kind
 * of forged, stale or foreign token is refused before anything reaches the cluster. Key rotation:
 * a token signed with a key the gateway has not seen makes it fetch the provider's keys again.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT, base64url } from 'jose';
import * as client from 'openid-client';
import { ssoUserId } from '../../src/auth/oidc/claims.js';
import { providerFetch } from '../../src/auth/oidc/provider-fetch.js';
import { kubectl } from '../support/cluster.js';
import { call, startTestGateway } from '../support/gateway.js';
import { CLIENT_ID, CLIENT_SECRET, CLUSTER, confirmDevice, startSsoWorld, type SsoWorld } from '../support/sso-world.js';
import { tokenReview } from '../webhook/support.js';

describe('bearer ID tokens (--oidc-accept-id-tokens)', { timeout: 240_000 }, () => {
  let world: SsoWorld;
  let aliceIdToken: string;
  const aliceId = (): string => ssoUserId(world.provider.issuer, 'sub-alice-1');

  /** A real ID token for `clientId`, from the provider's device flow confirmed in Chromium as `login`. */
  const realIdToken = async (clientId: string, secret: string, login: string): Promise<string> => {
    const config = await client.discovery(new URL(world.provider.issuer), clientId, secret, client.ClientSecretBasic(secret), {
      [client.customFetch]: providerFetch(world.provider.caPem) as client.CustomFetch,
    });
    const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile email groups' });
    await confirmDevice(world.browser, device.verification_uri_complete!, login);
    const tokens = await client.pollDeviceAuthorizationGrant(config, { ...device, interval: 1 });
    return tokens.id_token!;
  };

  /** GET through the gateway with a bearer token: the status and the Status message. */
  const through = async (token: string): Promise<{ status: number; message: string }> => {
    const res = await call(world.gw, 'GET', `/k8s/clusters/${CLUSTER}/api/v1/namespaces`, { token });
    return { status: res.status, message: res.body?.message ?? '' };
  };

  /** Claims of a well-formed token for alice (minted with the provider's own key unless told otherwise). */
  const aliceClaims = (extra: Record<string, unknown> = {}) => ({ sub: 'sub-alice-1', aud: CLIENT_ID, preferred_username: 'alice', groups: ['dev', 'ops'], ...extra });

  before(async () => {
    world = await startSsoWorld(['--oidc-accept-id-tokens']);
    const member = await call(world.gw, 'PUT', `/v1/clusters/${CLUSTER}/members`, { token: world.adminToken, body: { principal: 'group:oidc:dev', role: 'member' } });
    assert.equal(member.status, 200, member.text);
  });

  after(async () => {
    await world?.stop();
  });

  it('a real ID token from the provider runs as the identity a browser login gives, with kubectl', async () => {
    aliceIdToken = await realIdToken(CLIENT_ID, CLIENT_SECRET, 'alice');
    const kubeconfig = join(world.dir, 'id-token.yaml');
    await writeFile(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'gw',
      clusters: [{ name: 'gw', cluster: { server: `${world.gw.url}/k8s/clusters/${CLUSTER}`, 'certificate-authority-data': Buffer.from(world.gw.caPem!).toString('base64') } }],
      users: [{ name: 'ci', user: { token: aliceIdToken } }],
      contexts: [{ name: 'gw', context: { cluster: 'gw', user: 'ci' } }],
    }));
    const res = await kubectl(kubeconfig, ['auth', 'whoami', '-o', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const who = JSON.parse(res.stdout).status.userInfo;
    assert.deepEqual(
      { username: who.username, uid: who.uid, groups: who.groups },
      { username: 'alice', uid: aliceId(), groups: ['oidc:dev', 'oidc:ops', 'kubegate:role:member', 'kubegate:authenticated', 'system:authenticated'] },
    );
    assert.match(who.extra['kubegate.io/token-id'][0], /^idt-[A-Za-z0-9_-]{22}$/);
    // What the cluster received: the gateway's credential and alice's impersonation, never the ID token.
    const seen = world.double.requests.filter((r) => r.path.includes('selfsubjectreviews')).at(-1)!;
    assert.equal(seen.headersDistinct['impersonate-user']?.[0], 'alice');
    assert.ok(!JSON.stringify(seen.rawHeaders).includes(aliceIdToken), 'the ID token does not travel upstream');
    // The user exists in kubegate now, like after a browser login; admins see where from.
    const users = (await call(world.gw, 'GET', '/v1/users', { token: world.adminToken })).body.items;
    assert.equal(users.find((u: any) => u.id === aliceId())?.source, `oidc:${world.provider.issuer}`);
  });

  it('a CI job\'s own ID token is accepted through --oidc-extra-audiences; membership rules apply as for any user', async () => {
    const ciToken = await realIdToken('ci-job', 'ci-job-secret', 'bob');
    assert.equal((await through(ciToken)).status, 200);
    // dana is in no group that may reach the cluster: authenticated, but forbidden.
    const dana = await world.provider.mint({ sub: 'sub-nogroups-5', aud: CLIENT_ID, preferred_username: 'dana' });
    assert.deepEqual(await through(dana), { status: 403, message: `cluster "${CLUSTER}" does not exist or you are not a member of it` });
  });

  it('ID tokens work only through the gateway: the direct door and the management API refuse them', async () => {
    const review = await tokenReview(world.webhook.url, aliceIdToken);
    assert.deepEqual(review.body.status, { authenticated: false, error: 'not a kubegate token' });
    const me = await call(world.gw, 'GET', '/v1/me', { token: aliceIdToken });
    assert.equal(me.status, 401);
    assert.match(me.body.error.message, /ID tokens are accepted only on \/k8s/);
    const minted = await call(world.gw, 'POST', '/v1/tokens', { token: aliceIdToken, body: {} });
    assert.equal(minted.status, 401, 'an ID token cannot mint a longer-lived kubegate token');
  });

  it('without --oidc-accept-id-tokens the same token is refused (401)', async () => {
    const plain = await startTestGateway(world.oidcFlags);
    try {
      const res = await call(plain, 'GET', `/k8s/clusters/${CLUSTER}/api`, { token: aliceIdToken });
      assert.equal(res.status, 401);
      assert.equal(res.body.reason, 'Unauthorized');
    } finally {
      await plain.stop();
    }
  });

  // Before the refusals: one of them (a made-up key id) makes the gateway refetch the keys, and
  // refetches for unknown keys are at most one per 5 s (signing-keys.ts).
  it('key rotation: a token signed with a key the gateway has not seen yet makes it fetch the keys again, and is accepted', async () => {
    assert.equal((await through(await world.provider.mint(aliceClaims()))).status, 200, 'the old key set is cached');
    const rotated = await world.provider.rotateKeys();
    const token = await world.provider.mint(aliceClaims(), { key: rotated });
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid, rotated.kid);
    assert.equal((await through(token)).status, 200);
    // A real token from the rotated provider too.
    assert.equal((await through(await realIdToken(CLIENT_ID, CLIENT_SECRET, 'alice'))).status, 200);
  });

  it('with the provider down, tokens signed with keys already fetched keep working', async () => {
    const token = await world.provider.mint(aliceClaims({ preferred_username: 'alice', jti: 'while-down' }));
    await world.provider.stop();
    try {
      assert.equal((await through(token)).status, 200);
    } finally {
      await world.provider.start();
    }
  });

  describe('refused tokens: nothing reaches the cluster', () => {
    const refusals: Array<[string, () => Promise<string>]> = [
      ['the wrong audience', () => world.provider.mint(aliceClaims({ aud: 'some-other-app' }))],
      ['the wrong issuer', () => world.provider.mint(aliceClaims({ iss: 'https://evil.example.com' }))],
      ['an issuer differing by a trailing slash', () => world.provider.mint(aliceClaims({ iss: `${world.provider.issuer}/` }))],
      ['an expired token', () => world.provider.mint(aliceClaims({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }))],
      ['a token not valid yet', () => world.provider.mint(aliceClaims({ nbf: Math.floor(Date.now() / 1000) + 3600 }))],
      ['no subject', () => world.provider.mint({ aud: CLIENT_ID, preferred_username: 'alice' })],
      [
        'a bad signature',
        async () => {
          const [h, p] = (await world.provider.mint(aliceClaims())).split('.');
          const other = (await world.provider.mint(aliceClaims({ preferred_username: 'someone' }))).split('.')[2];
          return `${h}.${p}.${other}`;
        },
      ],
      [
        'a payload changed after signing',
        async () => {
          const [h, , s] = (await world.provider.mint(aliceClaims())).split('.');
          return `${h}.${base64url.encode(JSON.stringify(aliceClaims({ iss: world.provider.issuer, exp: 4_000_000_000, groups: ['system:masters'] })))}.${s}`;
        },
      ],
      [
        'alg: none',
        async () => {
          const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
          const payload = base64url.encode(JSON.stringify({ ...aliceClaims(), iss: world.provider.issuer, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 }));
          return `${header}.${payload}.`;
        },
      ],
      [
        'HS256 keyed with the client secret',
        async () => {
          const now = Math.floor(Date.now() / 1000);
          return new SignJWT({ ...aliceClaims(), iss: world.provider.issuer, iat: now, exp: now + 600 })
            .setProtectedHeader({ alg: 'HS256', kid: world.provider.keys[0]!.kid })
            .sign(new TextEncoder().encode(CLIENT_SECRET));
        },
      ],
      [
        'a key the provider never published',
        async () => {
          const { generateKeyPair, exportJWK } = await import('jose');
          const { privateKey } = await generateKeyPair('RS256', { extractable: true });
          return world.provider.mint(aliceClaims(), { key: { kid: 'rogue', privateJwk: { ...(await exportJWK(privateKey)), kid: 'rogue' } } });
        },
      ],
      ['a username Kubernetes reserves', () => world.provider.mint(aliceClaims({ sub: 'sub-x', preferred_username: 'system:kube-controller-manager' }))],
      ['the local admin\'s username', () => world.provider.mint({ sub: 'sub-mallory-4', aud: CLIENT_ID, preferred_username: 'admin', groups: ['dev'] })],
      ['an oversized token', async () => `${await world.provider.mint(aliceClaims({ pad: 'x'.repeat(20_000) }))}`],
      ['three segments of garbage', async () => 'eyJhbGciOiJSUzI1NiJ9.!!!.???'],
      ['a header that is not JSON', async () => `eyJub3Rqc29u.${base64url.encode('{}')}.c2ln`],
      ['a payload that is a JSON array', async () => `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: world.provider.keys[0]!.kid }))}.${base64url.encode('[1,2]')}.c2ln`],
    ];
    for (const [what, make] of refusals) {
      it(`${what}: 401, and the cluster sees nothing`, async () => {
        const token = await make();
        world.double.clearRequests();
        const res = await through(token);
        assert.equal(res.status, 401, `${what}: ${JSON.stringify(res)}`);
        assert.equal(world.double.requests.length, 0, 'nothing was forwarded');
      });
    }

    it('a disabled user\'s ID token is refused; enabled again, accepted', async () => {
      const token = await world.provider.mint(aliceClaims());
      assert.equal((await through(token)).status, 200);
      assert.equal((await call(world.gw, 'PATCH', `/v1/users/${aliceId()}`, { token: world.adminToken, body: { enabled: false } })).status, 200);
      assert.equal((await through(token)).status, 401, 'the cached verdict was evicted at once');
      assert.equal((await call(world.gw, 'PATCH', `/v1/users/${aliceId()}`, { token: world.adminToken, body: { enabled: true } })).status, 200);
      assert.equal((await through(token)).status, 200);
    });
  });
});
