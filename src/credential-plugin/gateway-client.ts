/**
 * The gateway calls the plugin makes (docs/reference/api.md): `POST /v1/login`, `GET /v1/me` (is a cached
 * token still good?), `POST /v1/logout`, and for single sign-on `GET /v1/login/methods` and the
 * `/v1/oidc/…` steps (`sso-login.ts`). TLS is always verified: against the gateway CA when the
 * kubeconfig carries one, else the system trust store.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PluginError } from './plugin-error.js';

export interface GatewayTarget {
  /** The gateway's public URL, no trailing slash. */
  server: string;
  /** PEM to trust instead of the system CAs. */
  caPem: string | undefined;
}

export interface LoginAnswer {
  token: string;
  tokenId: string;
  expiresAt: Date;
}

export interface RawResponse {
  status: number;
  body: string;
}

const TLS_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function send(target: GatewayTarget, method: string, path: string, options: { token?: string; json?: unknown; timeoutMs: number }): Promise<RawResponse> {
  const url = new URL(target.server + path);
  const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'kubegate-token' };
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const tls = url.protocol === 'https:' && target.caPem !== undefined ? { ca: target.caPem } : {};
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: options.timeoutMs, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

/** One line explaining why the gateway could not be reached. */
export function unreachable(target: GatewayTarget, err: unknown): PluginError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  if (TLS_ERRORS.has(code)) {
    const hint = target.caPem === undefined ? 'set KUBEGATE_GATEWAY_CA_DATA to its CA (base64 PEM)' : 'KUBEGATE_GATEWAY_CA_DATA does not match it';
    return new PluginError(`the certificate of ${target.server} is not trusted (${code}); ${hint}`);
  }
  return new PluginError(`cannot reach the gateway at ${target.server} (${code})`);
}

/** The gateway's error message in an API error answer. */
export function errorMessage(body: string): string | undefined {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** A JSON call to the gateway; a PluginError when it cannot be reached. */
export async function callGateway(target: GatewayTarget, method: string, path: string, json?: unknown, timeoutMs = 30_000): Promise<RawResponse> {
  try {
    return await send(target, method, path, { json, timeoutMs });
  } catch (err) {
    throw unreachable(target, err);
  }
}

/** A login answer's token, or a PluginError saying the answer was not one. */
export function loginAnswerOf(target: GatewayTarget, res: RawResponse): LoginAnswer {
  let body: { token?: unknown; tokenId?: unknown; expiresAt?: unknown };
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    body = {};
  }
  if (typeof body.token !== 'string' || typeof body.tokenId !== 'string' || typeof body.expiresAt !== 'string') {
    throw new PluginError(`login at ${target.server}: unexpected answer`);
  }
  return { token: body.token, tokenId: body.tokenId, expiresAt: new Date(body.expiresAt) };
}

/** Logs in for a token scoped to `clusterId`. */
export async function login(target: GatewayTarget, credentials: { username: string; password: string; clusterId: string }): Promise<LoginAnswer> {
  const res = await callGateway(target, 'POST', '/v1/login', { ...credentials, description: 'kubegate token plugin' });
  if (res.status !== 201) {
    const why = errorMessage(res.body) ?? `HTTP ${res.status}`;
    // 403: the password was right, but the user may not have a token for this cluster.
    if (res.status === 403) throw new PluginError(`${target.server} refused "${credentials.username}" a token for cluster "${credentials.clusterId}": ${why}`);
    throw new PluginError(`login at ${target.server} as "${credentials.username}" failed: ${why}`);
  }
  return loginAnswerOf(target, res);
}

/** The single sign-on the gateway offers (its display name), or undefined when it offers none. */
export async function singleSignOn(target: GatewayTarget): Promise<{ displayName: string } | undefined> {
  const res = await callGateway(target, 'GET', '/v1/login/methods', undefined, 10_000);
  // An older gateway without the endpoint: passwords only.
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new PluginError(`cannot ask ${target.server} how to log in: ${errorMessage(res.body) ?? `HTTP ${res.status}`}`);
  try {
    const sso = (JSON.parse(res.body) as { sso?: { displayName?: unknown } | null }).sso;
    return sso && typeof sso.displayName === 'string' ? { displayName: sso.displayName } : undefined;
  } catch {
    throw new PluginError(`cannot ask ${target.server} how to log in: unexpected answer`);
  }
}

/**
 * Asks the gateway whether a token still works: 'valid', 'rejected' (401: revoked or expired), or
 * 'unknown' when the gateway cannot say (unreachable, busy) — then the cached token is kept, so the
 * authorized cluster endpoint keeps working while the gateway is down.
 */
export async function checkToken(target: GatewayTarget, token: string): Promise<'valid' | 'rejected' | 'unknown'> {
  try {
    const res = await send(target, 'GET', '/v1/me', { token, timeoutMs: 5_000 });
    if (res.status === 200) return 'valid';
    return res.status === 401 ? 'rejected' : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Revokes a token at the gateway; best effort (true when the gateway confirmed or already forgot it). */
export async function revokeToken(target: GatewayTarget, token: string): Promise<'revoked' | 'invalid' | 'unreachable'> {
  try {
    const res = await send(target, 'POST', '/v1/logout', { token, timeoutMs: 5_000 });
    // 401: it no longer worked (revoked or expired before): nothing was revoked now.
    return res.status === 204 ? 'revoked' : res.status === 401 ? 'invalid' : 'unreachable';
  } catch {
    return 'unreachable';
  }
}
