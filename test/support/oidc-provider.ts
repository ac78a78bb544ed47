/**
 * A real OpenID provider for the tests: the `oidc-provider` package (a certified OpenID Provider),
 * in this process, on loopback with TLS from a test CA, with the device flow, users with groups,
 * and key rotation. Its login and consent pages are the package's development interactions
 * (any password is accepted for a known login; the tests drive them in Chromium).
 *
 * Changing its configuration (clients, keys, the device flow) builds a new `Provider` behind the
 * same listener and issuer, sharing one store, so sessions and grants survive the change.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';
import { createCertificateAuthority } from '../kube-double/index.js';
import { freePort } from './ports.js';

export interface TestAccount {
  sub: string;
  claims: Record<string, unknown>;
}

export interface TestClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  token_endpoint_auth_method?: 'client_secret_basic' | 'none';
}

export interface SigningKey {
  kid: string;
  privateJwk: JWK;
}

export interface TestProvider {
  issuer: string;
  /** PEM of the CA that signed the provider's certificate (for --oidc-ca-file). */
  caPem: string;
  /** SHA-256 of the serving key's SPKI (base64), for chromium's --ignore-certificate-errors-spki-list. */
  spki: string;
  /** Logins the provider knows (its login page takes any password for these). */
  accounts: Map<string, TestAccount>;
  /** The key the provider signs with now (first), then the ones it still publishes. */
  keys: SigningKey[];
  /** A new signing key first in the key set; the old ones are still published unless `dropOld`. */
  rotateKeys(options?: { dropOld?: boolean }): Promise<SigningKey>;
  /** Registers clients (replacing all) and turns the device flow on or off. */
  reconfigure(change: { clients?: TestClient[]; deviceFlow?: boolean }): void;
  /** Signs claims as the provider would (its current key unless told otherwise). */
  mint(claims: JWTPayload, options?: { key?: SigningKey; header?: Record<string, unknown> }): Promise<string>;
  /** While on, authorization codes are issued already expired (the gateway's redemption fails as for a late one). */
  codesExpireAtOnce(on: boolean): void;
  /** Stops listening (and drops open connections): the provider is down. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/** A Map-backed adapter (the package's memory adapter, minus eviction), shared by every Provider built. */
function adapterOver(store: Map<string, any>, codesExpired: () => boolean) {
  const grants = new Map<string, Set<string>>();
  return class TestAdapter {
    constructor(private readonly model: string) {}
    private key(id: string): string {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: any, expiresIn?: number): Promise<void> {
      const key = this.key(id);
      const expired = this.model === 'AuthorizationCode' && codesExpired();
      store.set(key, { ...payload, expiresAt: expired ? Date.now() - 1 : expiresIn ? Date.now() + expiresIn * 1000 : undefined });
      if (this.model === 'Session' && payload.uid) store.set(`sessionUid:${payload.uid}`, id);
      if (payload.userCode) store.set(`userCode:${payload.userCode}`, id);
      if (payload.grantId) grants.set(payload.grantId, (grants.get(payload.grantId) ?? new Set()).add(key));
    }
    async find(id: string): Promise<any> {
      const found = store.get(this.key(id));
      if (!found || (found.expiresAt && found.expiresAt < Date.now())) return undefined;
      const { expiresAt: _e, ...payload } = found;
      return payload;
    }
    async findByUid(uid: string): Promise<any> {
      const id = store.get(`sessionUid:${uid}`);
      return id === undefined ? undefined : this.find(id);
    }
    async findByUserCode(userCode: string): Promise<any> {
      const id = store.get(`userCode:${userCode}`);
      return id === undefined ? undefined : this.find(id);
    }
    async consume(id: string): Promise<void> {
      const found = store.get(this.key(id));
      if (found) found.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    }
  };
}

async function newKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = `key-${createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 12)}`;
  return { kid, privateJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

/** Starts the provider on 127.0.0.1 (a free port unless given) with `clients` registered. */
export async function startTestProvider(options: { clients: TestClient[]; port?: number; accounts?: Record<string, TestAccount> }): Promise<TestProvider> {
  const ca = await createCertificateAuthority();
  const port = options.port ?? (await freePort());
  const issuer = `https://127.0.0.1:${port}`;
  const store = new Map<string, any>();
  let expiredCodes = false;
  const Adapter = adapterOver(store, () => expiredCodes);
  const accounts = new Map(Object.entries(options.accounts ?? {}));
  const keys = [await newKey()];
  let clients = options.clients;
  let deviceFlow = true;

  const build = (): Provider => {
    const configuration: Configuration = {
      adapter: Adapter as any,
      clients: clients.map((c) => ({ grant_types: ['authorization_code', ...(deviceFlow ? ['urn:ietf:params:oauth:grant-type:device_code'] : [])], response_types: ['code'], ...c })),
      jwks: { keys: keys.map((k) => k.privateJwk) as any },
      findAccount: async (_ctx, id) => {
        const account = accounts.get(id);
        if (!account) return undefined;
        return { accountId: id, claims: async () => ({ sub: account.sub, ...account.claims }) };
      },
      claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'], groups: ['groups'] },
      features: { deviceFlow: { enabled: deviceFlow }, devInteractions: { enabled: true }, revocation: { enabled: true } },
      // Claims in the ID token itself, as kube-apiserver (and kubegate) read them, not only from userinfo.
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      cookies: { keys: ['kubegate-test-provider-cookie-key'] },
      ttl: { AuthorizationCode: 120, IdToken: 3600, AccessToken: 3600, DeviceCode: 600, Interaction: 600, Session: 3600, Grant: 3600 },
      renderError: async (ctx, out) => {
        ctx.type = 'html';
        ctx.body = `<!doctype html><title>provider error</title><h1>${String(out.error)}</h1><p>${String(out.error_description ?? '')}</p>`;
      },
    };
    const provider = new Provider(issuer, configuration);
    // Its own errors (a bad client, a used code) are answers to the tests, not noise on their output.
    provider.on('server_error', () => {});
    return provider;
  };

  let current = build();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = async (): Promise<void> => {
    server = createServer({ cert: ca.serving.certPem, key: ca.serving.keyPem }, (req, res) => current.callback()(req, res));
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
  };
  await listen();
  const cert = new X509Certificate(ca.serving.certPem);
  const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

  return {
    issuer,
    caPem: ca.caPem,
    spki,
    accounts,
    keys,
    async rotateKeys(rotation = {}) {
      const key = await newKey();
      if (rotation.dropOld) keys.length = 0;
      keys.unshift(key);
      current = build();
      return key;
    },
    reconfigure(change) {
      if (change.clients) clients = change.clients;
      if (change.deviceFlow !== undefined) deviceFlow = change.deviceFlow;
      current = build();
    },
    async mint(claims, mintOptions = {}) {
      const key = mintOptions.key ?? keys[0]!;
      const { importJWK } = await import('jose');
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, exp: now + 600, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...mintOptions.header })
        .sign(await importJWK(key.privateJwk, 'RS256'));
    },
    codesExpireAtOnce(on) {
      expiredCodes = on;
    },
    async stop() {
      const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closing;
    },
    start: listen,
  };
}
