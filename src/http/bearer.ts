/**
 * Reads the bearer token a request presents, for the proxy and the management API alike: the
 * single `Authorization` line, or for WebSocket clients (which cannot set headers in a browser)
 * the `base64url.bearer.authorization.k8s.io.<token>` subprotocol, as kube-apiserver accepts it.
 */
import type { IncomingMessage } from 'node:http';
import { badRequest, unauthorized } from '../errors.js';

export const BEARER_PROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/**
 * A non-secret key for a presented token, for throttling repeated failures of the same token: a
 * kubegate token's id (`kgt_t-…`, before the dot), else the token's first 24 characters.
 */
export function tokenPrefix(req: IncomingMessage): string | undefined {
  try {
    const token = bearerToken(req);
    const dot = token.indexOf('.');
    return token.startsWith('kgt_') && dot > 0 ? token.slice(0, dot) : token.slice(0, 24);
  } catch {
    return undefined;
  }
}

/** Reads the client's token; throws 400 for more than one `Authorization` line, 401 for none. */
export function bearerToken(req: IncomingMessage): string {
  const line = authorizationLine(req.rawHeaders);
  if (line !== undefined) {
    const m = /^Bearer +(\S+) *$/i.exec(line);
    if (!m) throw unauthorized();
    return m[1]!;
  }
  // Only an upgrade may carry its token in a subprotocol (a browser's WebSocket cannot set
  // headers); on a plain request the subprotocol is ignored, as no client needs it there.
  const fromProtocol = (req as IncomingMessage & { upgrade?: boolean }).upgrade ? subprotocolToken(req) : undefined;
  if (fromProtocol !== undefined) return fromProtocol;
  throw unauthorized();
}

/** The one `Authorization` line, any letter case; undefined for none, 400 for several. */
function authorizationLine(raw: readonly string[]): string | undefined {
  // rawHeaders rather than headersDistinct, which builds an array for every header of every request.
  let line: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue;
    if (line !== undefined) throw badRequest('more than one Authorization header');
    line = raw[i + 1]!;
  }
  return line;
}

function subprotocolToken(req: IncomingMessage): string | undefined {
  const protocols = req.headersDistinct['sec-websocket-protocol'];
  if (!protocols) return undefined;
  for (const line of protocols) {
    for (const p of line.split(',')) {
      const name = p.trim();
      if (name.startsWith(BEARER_PROTOCOL_PREFIX)) {
        const token = Buffer.from(name.slice(BEARER_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
        if (!token || /[\s\x00-\x1f]/.test(token)) throw unauthorized();
        return token;
      }
    }
  }
  return undefined;
}
