/**
 * Token format (docs/reference/tokens.md): `kgt_<id>.<secret>`.
 *
 * - `kgt_` is a distinctive prefix so secret scanners can find leaked tokens
 *   (regex: `kgt_t-[a-z2-7]{16}\.[A-Za-z0-9_-]{43}`).
 * - `<id>` (`t-` + 16 base32 characters) names the stored record; it is not secret.
 * - `<secret>` is 32 random bytes (256 bits), base64url.
 *
 * Only `hashSecret(id, secret)` is stored. The secret has full entropy, so a fast hash is
 * enough (no password stretching); binding the id into the hash stops a hash being replayed
 * under another id.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'kgt_';
const ID_BODY_LENGTH = 16;
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43; // base64url of 32 bytes, unpadded
const TOKEN_PATTERN = /^kgt_(t-[a-z2-7]{16})\.([A-Za-z0-9_-]{43})$/;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A random lower-case base32 string: ids of tokens (`t-`), users (`u-`). */
export function randomId(prefix: string, length = ID_BODY_LENGTH): string {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const b of bytes) out += BASE32[b & 31];
  return out;
}

export interface ParsedToken {
  id: string;
  secret: string;
}

export interface IssuedToken extends ParsedToken {
  /** The full bearer string handed to the user once. */
  token: string;
  secretHash: string;
}

/** Makes a new token id and secret. */
export function issueToken(): IssuedToken {
  const id = randomId('t-');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { id, secret, token: `${TOKEN_PREFIX}${id}.${secret}`, secretHash: hashSecret(id, secret) };
}

/** Splits a bearer string into id and secret, or undefined when it is not one of ours. */
export function parseToken(token: string): ParsedToken | undefined {
  if (token.length !== TOKEN_PREFIX.length + 2 + ID_BODY_LENGTH + 1 + SECRET_LENGTH) return undefined;
  const m = TOKEN_PATTERN.exec(token);
  if (!m) return undefined;
  return { id: m[1]!, secret: m[2]! };
}

/** The stored form of a secret: hex SHA-256 over a domain tag, the id and the secret. */
export function hashSecret(id: string, secret: string): string {
  // One-shot: the same digest as a streamed createHash, without a native Hash object per call
  // (the webhook hashes every review it answers).
  return hash('sha256', `kubegate-token-v1\0${id}\0${secret}`, 'hex');
}

/** Constant-time check of a presented secret against a stored hash. */
export function secretMatches(id: string, secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(id, secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
