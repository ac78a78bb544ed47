/**
 * `kubegate token`, the kubectl credential plugin (docs/reference/kubeconfig.md): a cached token scoped to the cluster
 * when there is a good one, else a login at the gateway: with a password (`KUBEGATE_USERNAME`, or
 * the terminal), or with single sign-on when the gateway offers it and no username was given.
 *
 * The cached path runs before every kubectl command, so it reads one small file and nothing else;
 * the HTTP client, the terminal prompt and single sign-on are imported only when needed.
 */
import { CredentialCache, removeFile, type CachedCredential } from './cache.js';
import type { GatewayTarget, LoginAnswer } from './gateway-client.js';
import { withLoginLock } from './login-lock.js';
import { PluginError } from './plugin-error.js';

/** How long a cached token is trusted before asking the gateway whether it was revoked. */
export const VERIFY_INTERVAL_MS = 5 * 60_000;
/** A token this close to expiry is replaced rather than handed out. */
const EXPIRY_MARGIN_MS = 60_000;
/** How many recent kubectl processes a cache entry remembers having handed its token to. */
const HANDED_TO_KEPT = 16;
/** How long a second plugin run waits for another one's login (its user may be typing a password, or in a browser). */
const LOCK_WAIT_MS = 60_000;

export interface PluginOptions {
  /** The gateway's public URL, no trailing slash. */
  server: string;
  clusterId: string;
  /** `KUBEGATE_CONFIG_DIR`, else `~/.kubegate`. */
  configDir: string;
  /** The gateway CA (base64 PEM, `KUBEGATE_GATEWAY_CA_DATA`); the system CAs when undefined. */
  caData: string | undefined;
  username: string | undefined;
  password: string | undefined;
  /** kubectl handed us a terminal: prompting is allowed. */
  interactive: boolean;
  /** `KUBEGATE_BROWSER`: what opens the provider's login page (`none`: print the URL only). */
  browser: string | undefined;
  /** `KUBEGATE_LOOPBACK_PORTS` (kubelogin's 8000 and 18000 by default, so one registration serves both). */
  loopbackPorts: readonly number[];
  /** The process that ran us (kubectl's pid); undefined when unknown. */
  caller?: number | undefined;
  now?: () => number;
}

export interface Credential {
  token: string;
  expiresAt: Date;
}

function target(server: string, caData: string | undefined): GatewayTarget {
  return { server, caPem: caData === undefined ? undefined : Buffer.from(caData, 'base64').toString('utf8') };
}

/** Still usable for a while: not expired, nor about to. */
function fresh(entry: CachedCredential, now: number): boolean {
  const expiresAt = Date.parse(entry.expiresAt);
  const lifetime = expiresAt - Date.parse(entry.obtainedAt);
  return expiresAt - Math.min(EXPIRY_MARGIN_MS, lifetime / 10) > now;
}

/** The token to hand kubectl: cached (re-verified every few minutes), else a new login. */
export async function obtainCredential(options: PluginOptions): Promise<Credential> {
  const now = options.now ?? Date.now;
  const cache = new CredentialCache(options.configDir);
  const cached = cache.read(options.server, options.clusterId);
  if (cached && fresh(cached, now())) {
    // client-go runs the plugin again, in the same kubectl process, when a request meets a 401 with
    // the credential it was given: that second run is asked for a fresh token (issue 15, bug 1).
    // It cannot retry that request, but the next command gets a working token at once.
    const again = options.caller !== undefined && (cached.handedTo ?? []).includes(options.caller);
    if (!again && now() - Date.parse(cached.verifiedAt) < VERIFY_INTERVAL_MS) return handOut(cache, cached, options.caller);
    // Revocation must not lock the user out: ask the gateway now and then; log in again on a 401.
    const { checkToken } = await import('./gateway-client.js');
    const verdict = await checkToken(target(options.server, options.caData ?? cached.caData), cached.token);
    if (verdict !== 'rejected') {
      if (verdict !== 'valid') return handOut(cache, cached, options.caller);
      return handOut(cache, { ...cached, verifiedAt: new Date(now()).toISOString() }, options.caller, { changed: true });
    }
    cache.remove(options.server, options.clusterId);
  }
  const credential = await login(options, cache, now);
  const entry = cache.read(options.server, options.clusterId);
  if (entry && entry.token === credential.token) return handOut(cache, entry, options.caller);
  return credential;
}

/**
 * Hands `entry`'s token out to `caller`, remembering whom (a cheap atomic rewrite of one small
 * file); `changed` when the entry differs from the cached file anyway.
 */
function handOut(cache: CredentialCache, entry: CachedCredential, caller: number | undefined, { changed = false } = {}): Credential {
  const handedTo = entry.handedTo ?? [];
  if (changed || (caller !== undefined && !handedTo.includes(caller))) {
    try {
      const handed = caller === undefined || handedTo.includes(caller) ? handedTo : [...handedTo, caller].slice(-HANDED_TO_KEPT);
      cache.write({ ...entry, handedTo: handed });
    } catch {
      // A read-only cache still hands the token out; only the 401 shortcut is lost.
    }
  }
  return toCredential(entry);
}

async function login(options: PluginOptions, cache: CredentialCache, now: () => number): Promise<Credential> {
  cache.ensureDir();
  const lockPath = `${cache.pathOf(options.server, options.clusterId)}.lock`;
  const fromOther = (): CachedCredential | undefined => {
    const entry = cache.read(options.server, options.clusterId);
    return entry && fresh(entry, now()) && now() - Date.parse(entry.verifiedAt) < VERIFY_INTERVAL_MS ? entry : undefined;
  };
  const made = await withLoginLock(lockPath, { maxWaitMs: LOCK_WAIT_MS, satisfied: () => fromOther() !== undefined }, async () => {
    // Another run may have logged in between our cache read and taking the lock.
    const other = fromOther();
    if (other) return other;
    const answer = await logIn(options);
    const at = new Date(now()).toISOString();
    const entry: CachedCredential = {
      server: options.server,
      clusterId: options.clusterId,
      token: answer.token,
      tokenId: answer.tokenId,
      obtainedAt: at,
      expiresAt: answer.expiresAt.toISOString(),
      verifiedAt: at,
      caData: options.caData,
    };
    cache.write(entry);
    return entry;
  });
  const entry = made ?? fromOther();
  if (!entry) throw new PluginError('another kubegate token run was logging in and left no credential; try again');
  return toCredential(entry);
}

/** A new cluster-scoped token: single sign-on when the gateway offers it and no username was given, else a password. */
async function logIn(options: PluginOptions): Promise<LoginAnswer> {
  const gateway = target(options.server, options.caData);
  const client = await import('./gateway-client.js');
  if (!options.username) {
    const sso = await client.singleSignOn(gateway);
    if (sso) {
      const { ssoLogin } = await import('./sso-login.js');
      return ssoLogin(gateway, {
        clusterId: options.clusterId,
        displayName: sso.displayName,
        browser: options.browser,
        loopbackPorts: options.loopbackPorts,
      });
    }
  }
  const { username, password } = await credentials(options);
  return client.login(gateway, { username, password, clusterId: options.clusterId });
}

/** Username and password from the environment, else the terminal when kubectl gave us one. */
async function credentials(options: PluginOptions): Promise<{ username: string; password: string }> {
  if (options.username && options.password) return { username: options.username, password: options.password };
  if (!options.interactive) {
    throw new PluginError(
      `not logged in to ${options.server} for cluster ${options.clusterId}: set KUBEGATE_USERNAME and KUBEGATE_PASSWORD, or run kubectl in a terminal`,
      2,
    );
  }
  const { promptCredentials } = await import('./prompt.js');
  return promptCredentials(options.server, { username: options.username || undefined });
}

function toCredential(entry: CachedCredential): Credential {
  return { token: entry.token, expiresAt: new Date(entry.expiresAt) };
}

/** `--logout`: revokes (best effort) and forgets cached credentials, all or one gateway's or one cluster's. */
export async function logout(options: { configDir: string; server?: string | undefined; clusterId?: string | undefined }): Promise<{ removed: number; revoked: number; invalid: number; unreachable: number }> {
  const cache = new CredentialCache(options.configDir);
  const entries = cache.list(options.server).filter(({ entry }) => options.clusterId === undefined || entry.clusterId === options.clusterId);
  if (entries.length === 0) return { removed: 0, revoked: 0, invalid: 0, unreachable: 0 };
  const { revokeToken } = await import('./gateway-client.js');
  const results = await Promise.all(
    entries.map(async ({ path, entry }) => {
      const revoked = await revokeToken(target(entry.server, entry.caData), entry.token);
      removeFile(path);
      return revoked;
    }),
  );
  const count = (what: string) => results.filter((r) => r === what).length;
  return { removed: entries.length, revoked: count('revoked'), invalid: count('invalid'), unreachable: count('unreachable') };
}
