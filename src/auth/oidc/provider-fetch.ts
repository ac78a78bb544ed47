/**
 * How the gateway talks to the OpenID provider: undici's fetch over its own connection pool,
 * trusting `--oidc-ca-file` when given (else the system CAs), with deadlines so a provider that
 * hangs cannot hold a login, or an ID-token verdict, for long.
 */
import { Agent, fetch as undiciFetch } from 'undici';

/** Connect, and wait for headers and each body chunk, at most this long. */
const PROVIDER_TIMEOUT_MS = 10_000;

/** A `fetch` for the provider's endpoints (discovery, keys, token, device authorization). */
export type ProviderFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** A `fetch` bound to the provider's TLS trust. */
export function providerFetch(caPem: string | undefined): ProviderFetch {
  const dispatcher = new Agent({
    connect: caPem === undefined ? { timeout: PROVIDER_TIMEOUT_MS } : { ca: caPem, timeout: PROVIDER_TIMEOUT_MS },
    headersTimeout: PROVIDER_TIMEOUT_MS,
    bodyTimeout: PROVIDER_TIMEOUT_MS,
  });
  // undici's Response is not the global one; openid-client and jose accept either (they check the shape).
  return (url, init) => undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher }) as unknown as Promise<Response>;
}
