/**
 * The browser's single sign-on in progress: the `state`, `nonce` and PKCE verifier of the login a
 * browser started, kept in the browser itself (nothing in the gateway's memory, so any replica can
 * finish a login another began). The callback accepts a login only when its `state` equals this
 * cookie's: that binds the provider's answer to the browser that asked (login CSRF).
 *
 * HttpOnly, Secure, `Path=/v1/oidc`, ten minutes, and SameSite=Lax: the provider's redirect back
 * is a cross-site top-level navigation, on which browsers send Lax cookies but not Strict ones.
 */
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { cookieValues } from './session-cookie.js';

export const LOGIN_STATE_COOKIE = '__Secure-kubegate-oidc';
/** A login must come back from the provider within this time. */
export const LOGIN_STATE_MAX_AGE_S = 600;

export interface LoginState {
  state: string;
  nonce: string;
  codeVerifier: string;
}

const PART = /^[A-Za-z0-9_-]{22,128}$/;

/** The `Set-Cookie` value remembering a login. */
export function loginStateCookie(login: LoginState): string {
  return `${LOGIN_STATE_COOKIE}=${login.state}.${login.nonce}.${login.codeVerifier}; Path=/v1/oidc; Max-Age=${LOGIN_STATE_MAX_AGE_S}; HttpOnly; Secure; SameSite=Lax`;
}

/** The `Set-Cookie` value forgetting it (after the callback, whatever its outcome). */
export function clearedLoginStateCookie(): string {
  return `${LOGIN_STATE_COOKIE}=; Path=/v1/oidc; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}

/** The login this browser started, if its cookie is there (exactly once) and well formed. */
export function readLoginState(req: IncomingMessage): LoginState | undefined {
  const values = cookieValues(req, LOGIN_STATE_COOKIE);
  // Two cookies of this name: someone planted one (cookie tossing); trust neither.
  if (values.length !== 1) return undefined;
  const [state, nonce, codeVerifier, extra] = values[0]!.split('.');
  if (extra !== undefined || ![state, nonce, codeVerifier].every((p) => p !== undefined && PART.test(p))) return undefined;
  return { state: state!, nonce: nonce!, codeVerifier: codeVerifier! };
}

/** Constant-time comparison of the `state` the provider returned with the remembered one. */
export function sameState(returned: string, remembered: string): boolean {
  const a = Buffer.from(returned);
  const b = Buffer.from(remembered);
  return a.length === b.length && timingSafeEqual(a, b);
}
