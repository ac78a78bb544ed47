/** The id of a request, answered in `X-Request-Id` and written in its audit line. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ProxyTrust } from './trust-proxy.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client's `X-Request-Id` when it came through a trusted proxy and looks sane; else a new one. */
export function requestIdFor(req: IncomingMessage, trust: ProxyTrust): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given) && trust.trustsForwarded(req)) return given;
  return randomUUID();
}
