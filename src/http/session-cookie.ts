/**
 * The web UI's session: an HttpOnly cookie holding a `session` token, and a CSRF proof bound to it.
 *
 * `__Secure-kubegate-session` is HttpOnly, Secure, SameSite=Strict and `Path=/v1`: page JavaScript
 * can never read the token, and the browser sends it only to the management API, never to
 * `/k8s/...` (whose requests are forwarded to clusters with their other headers).
 *
 * CSRF is a signed double submit: `__Secure-kubegate-csrf` (readable by the page, `Path=/`) holds
 * HMAC-SHA256(session token, label), and every cookie-authenticated API call must echo it in
 * `X-CSRF-Token`, whatever its method (`GET /v1/kubeconfig` mints tokens). Another site can neither
 * read the cookie nor compute the value without the token. Where the browser sends Fetch Metadata,
 * `Sec-Fetch-Site` must also say `same-origin`. Bearer-token calls need neither.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { forbidden, unauthorized } from '../errors.js';

export const SESSION_COOKIE = '__Secure-kubegate-session';
export const CSRF_COOKIE = '__Secure-kubegate-csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** The CSRF proof for a session token; the page may read it, it reveals nothing about the token. */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('kubegate-ui-csrf-v1').digest('base64url');
}

/** `Set-Cookie` values starting a UI session that lasts `maxAgeSeconds`. */
export function sessionCookies(sessionToken: string, maxAgeSeconds: number): string[] {
  const age = Math.max(0, Math.floor(maxAgeSeconds));
  return [
    `${SESSION_COOKIE}=${sessionToken}; Path=/v1; Max-Age=${age}; HttpOnly; Secure; SameSite=Strict`,
    `${CSRF_COOKIE}=${csrfTokenFor(sessionToken)}; Path=/; Max-Age=${age}; Secure; SameSite=Strict`,
  ];
}

/** `Set-Cookie` values ending the UI session in the browser. */
export function clearedSessionCookies(): string[] {
  return [
    `${SESSION_COOKIE}=; Path=/v1; Max-Age=0; HttpOnly; Secure; SameSite=Strict`,
    `${CSRF_COOKIE}=; Path=/; Max-Age=0; Secure; SameSite=Strict`,
  ];
}

/** Every value of cookie `name` in the request (a repeated name is suspicious: cookie tossing). */
export function cookieValues(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (const line of req.headersDistinct.cookie ?? []) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
    }
  }
  return values;
}

/** Refuses requests a browser marks as coming from another site (login CSRF, cookie misuse). */
export function refuseCrossSite(req: IncomingMessage): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw forbidden('cross-site requests are not accepted');
}

/**
 * The session token from the UI cookie, once the request has proved it comes from the UI;
 * undefined when there is no session cookie.
 */
export function sessionTokenFromCookie(req: IncomingMessage): string | undefined {
  const tokens = cookieValues(req, SESSION_COOKIE);
  if (tokens.length === 0) return undefined;
  if (tokens.length > 1 || !tokens[0]) throw unauthorized();
  refuseCrossSite(req);
  const sent = req.headersDistinct[CSRF_HEADER];
  const expected = Buffer.from(csrfTokenFor(tokens[0]));
  const given = Buffer.from(sent?.length === 1 ? sent[0]! : '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw forbidden('missing or wrong CSRF token: send the value of the kubegate-csrf cookie in X-CSRF-Token');
  }
  return tokens[0];
}
