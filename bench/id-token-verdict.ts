/**
 * Issue 16's measurement: what a bearer ID token's verdict costs (`--oidc-accept-id-tokens`), cold
 * and cached, next to a kubegate token's. In process, on the embedded SQLite store, with the
 * provider's discovery document and key set served from memory (no network in the figures):
 *
 * - cold, new user: signature (RS256), claims, the user created in the store, memberships;
 * - cold, known user: a token not seen before for a user the store already has;
 * - cached: the same token again, through the verdict cache (a salted SHA-256 and an LRU lookup);
 * - the same two for a kubegate token, for comparison.
 *
 *   node --import tsx bench/id-token-verdict.ts [--tokens 2000] [--hits 200000]
 */
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pino from 'pino';
import { IdTokenAuthenticator } from '../src/auth/id-token-authenticator.js';
import type { TokenAuthenticator } from '../src/auth/identity.js';
import { OidcIdentityProvider } from '../src/auth/oidc/oidc-identity-provider.js';
import { LocalRevocationBus } from '../src/auth/revocations.js';
import { StoreTokenAuthenticator } from '../src/auth/store-authenticator.js';
import { issueToken } from '../src/auth/tokens.js';
import { CachedTokenAuthenticator } from '../src/auth/verdict-cache.js';
import { openSqliteStore } from '../src/store/sqlite.js';

const { values } = parseArgs({ options: { tokens: { type: 'string', default: '2000' }, hits: { type: 'string', default: '200000' } } });
const tokenCount = Number(values.tokens);
const hits = Number(values.hits);
const ISSUER = 'https://idp.bench.invalid';

const { privateKey, publicKey } = await generateKeyPair('RS256');
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' }] };
const discovery = { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks`, authorization_endpoint: `${ISSUER}/auth`, token_endpoint: `${ISSUER}/token`, id_token_signing_alg_values_supported: ['RS256'] };
const fetch = async (url: string | URL): Promise<Response> => {
  const body = String(url).endsWith('/jwks') ? jwks : discovery;
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
};

const store = await openSqliteStore(':memory:');
for (const id of ['c-1', 'c-2', 'c-3']) {
  await store.createCluster({ id, name: id, connection: 'direct', server: `https://${id}`, insecureSkipTLSVerify: false, credential: { token: 'x' }, authorizedEndpoint: { enabled: false, controlPlaneNodes: [] } });
}
await store.putMember({ clusterId: 'c-2', principal: 'group:oidc:dev', role: 'member' });
await store.putMember({ clusterId: 'c-3', principal: 'group:oidc:sre', role: 'member' });
const log = pino({ level: 'silent' });
const provider = new OidcIdentityProvider({
  config: {
    issuerUrl: ISSUER, clientId: 'kubegate', clientSecret: undefined, usernameClaims: ['preferred_username'], usernamePrefix: '',
    groupsClaim: 'groups', groupsPrefix: 'oidc:', requiredClaims: new Map(), caPem: undefined, scopes: ['openid'], adminGroups: [],
    displayName: 'bench', acceptIdTokens: true, extraAudiences: [],
  },
  store,
  revocations: new LocalRevocationBus(),
  log,
  fetch,
});
const idTokens = new IdTokenAuthenticator(provider, store, log);

const now = Math.floor(Date.now() / 1000);
const mint = (user: number, jti: number) =>
  new SignJWT({ iss: ISSUER, aud: 'kubegate', sub: `sub-${user}`, preferred_username: `user-${user}`, groups: ['dev', 'ops', 'sre'], iat: now, exp: now + 3600, jti: String(jti) })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .sign(privateKey);

const newUsers = await Promise.all(Array.from({ length: tokenCount }, (_, i) => mint(i, 0)));
const knownUser = await Promise.all(Array.from({ length: tokenCount }, (_, i) => mint(0, i + 1)));

await store.createUser({ id: 'u-bench', username: 'bench', passwordHash: 'x', groups: ['dev', 'ops', 'sre'], admin: false, enabled: true });
await store.putMember({ clusterId: 'c-1', principal: 'user:bench', role: 'owner' });
const kubegateTokens: string[] = [];
for (let i = 0; i < tokenCount; i++) {
  const t = issueToken();
  await store.createToken({ id: t.id, kind: 'api', userId: 'u-bench', clusterId: null, description: '', secretHash: t.secretHash, expiresAt: null });
  kubegateTokens.push(t.token);
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function each(name: string, auth: TokenAuthenticator, tokens: string[]): Promise<void> {
  const latencies: number[] = [];
  for (const t of tokens) {
    const started = performance.now();
    const result = await auth.authenticate(t);
    latencies.push(performance.now() - started);
    if (!result.authenticated) throw new Error(`${name}: refused (${result.reason})`);
  }
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  console.log(`${name.padEnd(34)} mean ${(mean * 1000).toFixed(1).padStart(7)} µs  p50 ${(quantile(latencies, 0.5) * 1000).toFixed(1).padStart(7)} µs  p99 ${(quantile(latencies, 0.99) * 1000).toFixed(1).padStart(7)} µs`);
}

async function cached(name: string, auth: TokenAuthenticator, token: string): Promise<void> {
  const cache = new CachedTokenAuthenticator(auth, { successTtlMs: 3_600_000, failureTtlMs: 2000, maxEntries: 10_000 });
  await cache.authenticate(token);
  const started = performance.now();
  for (let i = 0; i < hits; i++) await cache.authenticate(token);
  const us = ((performance.now() - started) * 1000) / hits;
  console.log(`${name.padEnd(34)} mean ${us.toFixed(2).padStart(7)} µs  (${hits.toLocaleString('en')} hits, ${cache.stats.misses} miss)`);
}

// Warm-up: the first discovery and key-set load, JIT, prepared statements.
await idTokens.authenticate(await mint(999_999, 0));
await new StoreTokenAuthenticator(store).authenticate(kubegateTokens[0]!);

await each('ID token, cold, new user', idTokens, newUsers);
await each('ID token, cold, known user', idTokens, knownUser);
await cached('ID token, cached', idTokens, knownUser[0]!);
await each('kubegate token, cold (store lookup)', new StoreTokenAuthenticator(store), kubegateTokens);
await cached('kubegate token, cached', new StoreTokenAuthenticator(store), kubegateTokens[0]!);
console.log(`(key set fetched ${provider.keys.fetches} time${provider.keys.fetches === 1 ? '' : 's'})`);
await store.close();
