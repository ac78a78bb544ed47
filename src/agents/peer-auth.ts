/**
 * How two replicas prove to each other that they share the replicas' peer secret (kept in the
 * store, docs/agent-tunnel.md) without sending it: each side's proof is an HMAC of the secret over
 * both replica ids, a fresh nonce and time, and, over TLS, the session's exported keying material
 * (RFC 5705). A proof is good for that one TLS session only, so a relay that terminates TLS on
 * both sides cannot pass it on; the dialing side therefore need not verify the peer's certificate
 * (replicas are reached at their own addresses, which the serving certificate does not name).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export const PEER_ID_HEADER = 'kubegate-peer-id';
export const PEER_TARGET_HEADER = 'kubegate-peer-target';
export const PEER_NONCE_HEADER = 'kubegate-peer-nonce';
export const PEER_PROOF_HEADER = 'kubegate-peer-proof';
/** How far apart two replicas' clocks and a request's travel may be. */
const MAX_SKEW_MS = 60_000;

/** What binds a proof to this connection: the TLS session's keying material, or nothing over plain HTTP. */
export function channelBinding(socket: Duplex): string {
  const tls = socket as Partial<TLSSocket>;
  return typeof tls.exportKeyingMaterial === 'function' && tls.encrypted ? tls.exportKeyingMaterial(32, 'EXPORTER-kubegate-peer-v1', Buffer.alloc(0)).toString('hex') : '';
}

export function proof(secret: string, role: 'client' | 'server', from: string, to: string, nonce: string, binding: string): string {
  return createHmac('sha256', secret).update(`kubegate-peer-v1\0${role}\0${from}\0${to}\0${nonce}\0${binding}`).digest('base64url');
}

/** A nonce with the time it was made: `<ms>.<random>`. */
export function newNonce(now = Date.now()): string {
  return `${now}.${randomBytes(16).toString('base64url')}`;
}

/** True when the nonce's time is recent. */
export function freshNonce(nonce: string, now = Date.now()): boolean {
  const m = /^(\d{13})\.[A-Za-z0-9_-]{22}$/.exec(nonce);
  return m !== null && Math.abs(now - Number(m[1])) <= MAX_SKEW_MS;
}

/** Constant-time comparison of two proofs. */
export function sameProof(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
