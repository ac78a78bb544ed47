/**
 * The provider's key set (src/auth/oidc/signing-keys.ts) and the ID-token verifier on top of it:
 * rotation on an unknown key id, at most one such refetch per cooldown and one at a time, stale
 * keys kept while the provider is unreachable, and the algorithms that may never pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { acceptedAlgorithms, IdTokenRejected, IdTokenVerifier, looksLikeJwt } from '../../src/auth/oidc/id-token.js';
import { SigningKeys } from '../../src/auth/oidc/signing-keys.js';

const ISSUER = 'https://idp.example.com';

async function key(kid: string): Promise<{ kid: string; priv: CryptoKey; pub: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, priv: privateKey, pub: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

function world(now: { t: number }) {
  const published: JWK[] = [];
  let fetches = 0;
  let down = false;
  let release: (() => void) | undefined;
  const keys = new SigningKeys({
    jwksUri: async () => `${ISSUER}/jwks`,
    clock: () => now.t,
    fetch: async () => {
      fetches++;
      if (release) await new Promise<void>((r) => (release = r));
      if (down) throw new TypeError('fetch failed');
      return new Response(JSON.stringify({ keys: published }), { status: 200 });
    },
  });
  const verifier = new IdTokenVerifier({ keys, provider: async () => ({ issuer: ISSUER, algorithms: ['RS256'] }), clock: () => now.t });
  return {
    keys,
    verifier,
    published,
    fetches: () => fetches,
    setDown: (v: boolean) => (down = v),
    hold: () => (release = () => {}),
    release: () => {
      const r = release;
      release = undefined;
      r?.();
    },
  };
}

const sign = (k: { kid: string; priv: CryptoKey }, nowMs: number, claims: Record<string, unknown> = {}) =>
  new SignJWT({ iss: ISSUER, aud: 'kubegate', sub: 'alice', iat: Math.floor(nowMs / 1000), exp: Math.floor(nowMs / 1000) + 300, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: k.kid })
    .sign(k.priv);

const verify = (w: ReturnType<typeof world>, token: string) => w.verifier.verify(token, { audiences: ['kubegate'] });
const rejects = (p: Promise<unknown>, fault: string) => assert.rejects(p, (e: unknown) => e instanceof IdTokenRejected && e.fault === fault);

describe('SigningKeys and IdTokenVerifier', () => {
  it('fetches the key set once, then verifies from it', async () => {
    const now = { t: Date.now() };
    const w = world(now);
    const k1 = await key('k1');
    w.published.push(k1.pub);
    for (let i = 0; i < 3; i++) assert.equal((await verify(w, await sign(k1, now.t))).sub, 'alice');
    assert.equal(w.fetches(), 1);
  });

  it('an unknown key id refetches the set: a rotated-in key is accepted on its first token', async () => {
    const now = { t: Date.now() };
    const w = world(now);
    const [k1, k2] = [await key('k1'), await key('k2')];
    w.published.push(k1.pub);
    await verify(w, await sign(k1, now.t));
    w.published.unshift(k2.pub);
    assert.equal((await verify(w, await sign(k2, now.t))).sub, 'alice');
    assert.equal(w.fetches(), 2);
  });

  it('made-up key ids refetch at most once per cooldown', async () => {
    const now = { t: Date.now() };
    const w = world(now);
    const [k1, rogue] = [await key('k1'), await key('rogue')];
    w.published.push(k1.pub);
    await verify(w, await sign(k1, now.t));
    for (let i = 0; i < 5; i++) await rejects(verify(w, await sign({ ...rogue, kid: `rogue-${i}` }, now.t)), 'invalid');
    assert.equal(w.fetches(), 2, 'one refetch for five unknown keys');
    now.t += 5_001;
    await rejects(verify(w, await sign(rogue, now.t)), 'invalid');
    assert.equal(w.fetches(), 3, 'another after the cooldown');
  });

  it('concurrent first uses share one fetch', async () => {
    const now = { t: Date.now() };
    const w = world(now);
    const k1 = await key('k1');
    w.published.push(k1.pub);
    w.hold();
    const token = await sign(k1, now.t);
    const all = Promise.all(Array.from({ length: 10 }, () => verify(w, token)));
    await new Promise((r) => setImmediate(r));
    w.release();
    assert.equal((await all).length, 10);
    assert.equal(w.fetches(), 1);
  });

  it('keys past their age are refreshed in the background on use; while the provider is down the ones held keep verifying', async () => {
    const now = { t: Date.now() };
    const w = world(now);
    const k1 = await key('k1');
    w.published.push(k1.pub);
    await verify(w, await sign(k1, now.t));
    now.t += 11 * 60_000;
    w.setDown(true);
    assert.equal((await verify(w, await sign(k1, now.t))).sub, 'alice');
    assert.equal(w.fetches(), 2, 'a refresh was tried');
    assert.equal((await verify(w, await sign(k1, now.t))).sub, 'alice');
    assert.equal(w.fetches(), 2, 'and is not retried on every use');
    w.setDown(false);
    // A key the provider stopped publishing stops working once the set is refreshed.
    w.published.length = 0;
    w.published.push((await key('k3')).pub);
    now.t += 31_000;
    await verify(w, await sign(k1, now.t));
    // The refresh runs behind the verdict: wait for it to land.
    for (let i = 0; i < 100 && w.keys.fetches < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(w.keys.fetches, 2, "two successful fetches: the first, and this refresh");
    await rejects(verify(w, await sign(k1, now.t)), 'invalid');
  });

  it('without any keys yet and the provider down, the error passes through (a 503, never a cached refusal)', async () => {
    const now = { t: Date.now() };
    const w = world(now);
    w.setDown(true);
    const k1 = await key('k1');
    await assert.rejects(verify(w, await sign(k1, now.t)), (e: unknown) => !(e instanceof IdTokenRejected));
  });

  it('accepts only asymmetric algorithms the provider advertises, RS256 by default', () => {
    assert.deepEqual(acceptedAlgorithms(['RS256', 'ES256', 'HS256', 'none', 'PS512', 7]), ['RS256', 'ES256', 'PS512']);
    assert.deepEqual(acceptedAlgorithms(undefined), ['RS256']);
    assert.deepEqual(acceptedAlgorithms(['none', 'HS256']), ['RS256']);
  });

  it('tells JWT-shaped bearer strings from others cheaply', () => {
    assert.equal(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'), true);
    assert.equal(looksLikeJwt('kgt_t-aaaaaaaaaaaaaaaa.bbbb'), false);
    assert.equal(looksLikeJwt('eyJ.a.b.c'), false);
    assert.equal(looksLikeJwt(`eyJ${'a'.repeat(17_000)}.a.b`), false);
  });

  it('a nonce, when expected, must match', async () => {
    const now = { t: Date.now() };
    const w = world(now);
    const k1 = await key('k1');
    w.published.push(k1.pub);
    const token = await sign(k1, now.t, { nonce: 'n-1' });
    assert.equal((await w.verifier.verify(token, { audiences: ['kubegate'], nonce: 'n-1' })).nonce, 'n-1');
    await rejects(w.verifier.verify(token, { audiences: ['kubegate'], nonce: 'n-2' }), 'invalid');
    await rejects(w.verifier.verify(await sign(k1, now.t), { audiences: ['kubegate'], nonce: 'n-1' }), 'invalid');
  });

  it('several audiences: azp must be one of ours', async () => {
    const now = { t: Date.now() };
    const w = world(now);
    const k1 = await key('k1');
    w.published.push(k1.pub);
    assert.equal((await verify(w, await sign(k1, now.t, { aud: ['kubegate', 'other'], azp: 'kubegate' }))).sub, 'alice');
    await rejects(verify(w, await sign(k1, now.t, { aud: ['kubegate', 'other'], azp: 'other' })), 'invalid');
  });
});
