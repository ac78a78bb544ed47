/**
 * Verifies the provider's ID tokens with jose: the signature against the provider's keys
 * (`signing-keys.ts`, rotation included), with the algorithms the provider advertises for ID
 * tokens (asymmetric only: `none` and HMAC, whose "key" would be the client secret, never pass),
 * then issuer, audience, expiry, not-before and, for a login this gateway started, the `nonce`.
 * One verifier serves every way an ID token arrives: the browser's callback, `kubegate token`'s
 * device and loopback logins, and bearer tokens on `/k8s/...`.
 */
import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { SigningKeys } from './signing-keys.js';

/** Larger than any ID token a provider issues; bigger ones are refused before any parsing. */
export const MAX_ID_TOKEN_BYTES = 16 * 1024;
/** Clocks of gateway and provider may differ this much (seconds). */
const CLOCK_TOLERANCE_S = 30;
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Why an ID token was refused. `expired` is told apart so the user hears "log in again". */
export type IdTokenFault = 'malformed' | 'expired' | 'invalid';

export class IdTokenRejected extends Error {
  constructor(
    readonly fault: IdTokenFault,
    /** For the logs: what exactly failed (never the token). */
    detail: string,
  ) {
    super(detail);
    this.name = 'IdTokenRejected';
  }
}

/** Cheap shape test: three base64url segments, not too large. */
export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_ID_TOKEN_BYTES && token.startsWith('eyJ') && JWT_SHAPE.test(token);
}

/** The signing algorithms to accept: those the provider advertises for ID tokens, asymmetric only. */
export function acceptedAlgorithms(advertised: unknown): string[] {
  const listed = Array.isArray(advertised) ? advertised.filter((a): a is string => typeof a === 'string' && ASYMMETRIC.test(a)) : [];
  // OpenID Connect Discovery: RS256 must be supported, and is the default.
  return listed.length ? listed : ['RS256'];
}

export interface IdTokenVerifierOptions {
  keys: Pick<SigningKeys, 'getKey'>;
  /** The issuer and algorithms, from discovery (it may not have happened yet). */
  provider: () => Promise<{ issuer: string; algorithms: string[] }>;
  clock?: () => number;
}

export class IdTokenVerifier {
  private readonly clock: () => number;

  constructor(private readonly options: IdTokenVerifierOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * The claims of a valid ID token for one of `audiences`; with `nonce`, the token must carry it.
   * Throws `IdTokenRejected`; other errors (the provider's keys cannot be fetched) pass through.
   */
  async verify(token: string, expected: { audiences: readonly string[]; nonce?: string }): Promise<JWTPayload> {
    if (!looksLikeJwt(token)) throw new IdTokenRejected('malformed', 'not a compact JWS');
    const { issuer, algorithms } = await this.options.provider();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.options.keys.getKey, {
        issuer,
        audience: [...expected.audiences],
        algorithms,
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(this.clock()),
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      throw rejection(err);
    }
    if (expected.nonce !== undefined && payload.nonce !== expected.nonce) throw new IdTokenRejected('invalid', 'nonce does not match the login');
    // Several audiences: the token must have been issued to us (OpenID Connect Core 3.1.3.7).
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== undefined && !expected.audiences.includes(String(payload.azp))) {
      throw new IdTokenRejected('invalid', 'azp is not an accepted audience');
    }
    if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 255) throw new IdTokenRejected('invalid', 'sub is not a string of 1 to 255 characters');
    return payload;
  }
}

function rejection(err: unknown): Error {
  if (err instanceof errors.JWTExpired) return new IdTokenRejected('expired', 'token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) return new IdTokenRejected('invalid', `claim ${err.claim}: ${err.reason}`);
  if (err instanceof errors.JWSSignatureVerificationFailed) return new IdTokenRejected('invalid', 'bad signature');
  if (err instanceof errors.JWKSNoMatchingKey) return new IdTokenRejected('invalid', 'signed with a key the provider does not publish');
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new IdTokenRejected('invalid', 'ambiguous signing key');
  if (err instanceof errors.JOSEAlgNotAllowed) return new IdTokenRejected('invalid', 'signing algorithm not allowed');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) return new IdTokenRejected('malformed', (err as Error).message);
  return err as Error;
}
