/**
 * Stage (upgrades only): refuse what a tunnel must not carry, before any lookup.
 *
 * - Only `Upgrade: websocket` (kubectl ≥ 1.30's exec, attach, port-forward) and `SPDY/3.1` (the
 *   older ones) are relayed; `h2c` or any other token is refused, so a client cannot turn the
 *   tunnel into an HTTP/2 connection of its own to the cluster (h2c smuggling).
 * - An upgrade request declares no body. The tunnel never sends one, so an upstream that honours
 *   a declared `Content-Length` would read the next bytes (the tunnel's, or another request's)
 *   as that body: a request desynchronised from its answers.
 */
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../errors.js';

const RELAYED = new Set(['websocket', 'spdy/3.1']);

/** Throws a 400 for an upgrade the tunnel does not relay. */
export function checkUpgrade(req: IncomingMessage): void {
  const token = (req.headers.upgrade ?? '').trim().toLowerCase();
  if (!RELAYED.has(token)) throw badRequest('only Upgrade: websocket and Upgrade: SPDY/3.1 are relayed');
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
    throw badRequest('an upgrade request must not carry a body');
  }
}
