/**
 * Request authentication as kube-apiserver's union does it, in its order: client certificate
 * (x509, `--client-ca-file`), `Authorization: Bearer`, then the WebSocket bearer subprotocol.
 * The first success wins; with none, 401 (anonymous auth is treated as disabled). Every
 * authenticated non-anonymous user gets `system:authenticated` (AuthenticatedGroupAdder).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { unauthorized } from './status.js';
import type { TokenAuthenticator } from './token-authn.js';
import type { UserInfo } from './types.js';

const BEARER_PROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** A client certificate the TLS layer verified against the double's CA: CN is the user, O the groups. */
const fromClientCertificate = (req: IncomingMessage): UserInfo | null => {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized || typeof socket.getPeerCertificate !== 'function') return null;
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[] | undefined> | undefined;
  if (!subject) return null;
  // Go's pkix.Name keeps the last CN when there are several.
  const username = asList(subject.CN).at(-1);
  if (!username) return null;
  return { username, uid: '', groups: asList(subject.O), extra: {} };
};

/** `Authorization: Bearer <token>`, first header line only (Go's Header.Get). */
const bearerToken = (req: IncomingMessage): string | null => {
  const auth = (req.headersDistinct.authorization?.[0] ?? '').trim();
  const parts = auth.split(' ');
  if (parts.length < 2 || parts[0]?.toLowerCase() !== 'bearer') return null;
  return parts[1] || null;
};

export const isWebSocketRequest = (req: IncomingMessage): boolean =>
  (req.headers.upgrade ?? '').toLowerCase() === 'websocket' &&
  (req.headersDistinct.connection ?? []).some((line) => line.toLowerCase().includes('upgrade'));

interface ProtocolToken {
  token: string;
  otherProtocols: string[];
}

/** The token in `Sec-WebSocket-Protocol` (k8s.io/apiserver/pkg/authentication/request/websocket). */
const protocolToken = (req: IncomingMessage): ProtocolToken | null => {
  if (!isWebSocketRequest(req)) return null;
  let token = '';
  let seen = false;
  const otherProtocols: string[] = [];
  for (const line of req.headersDistinct['sec-websocket-protocol'] ?? []) {
    for (const raw of line.split(',')) {
      const protocol = raw.trim();
      if (!protocol.startsWith(BEARER_PROTOCOL_PREFIX)) {
        otherProtocols.push(protocol);
        continue;
      }
      if (seen) throw new Error('multiple base64.bearer.authorization tokens specified');
      seen = true;
      const encoded = protocol.slice(BEARER_PROTOCOL_PREFIX.length);
      if (!/^[A-Za-z0-9_-]*$/.test(encoded)) throw new Error('invalid base64.bearer.authorization token encoding');
      token = Buffer.from(encoded, 'base64url').toString('utf8');
    }
  }
  if (!token) return null;
  // Another subprotocol must remain to be echoed back once the token one is removed.
  if (otherProtocols.length === 0) throw new Error('missing additional subprotocol');
  return { token, otherProtocols };
};

const withAuthenticatedGroup = (user: UserInfo): UserInfo => {
  if (user.username === 'system:anonymous') return user;
  if (user.groups.includes('system:authenticated') || user.groups.includes('system:unauthenticated')) return user;
  return { ...user, groups: [...user.groups, 'system:authenticated'] };
};

/**
 * Authenticates a request or throws the 401 Status. On success through the subprotocol, the
 * token protocol is removed from the request's headers (as kube-apiserver does) so the
 * WebSocket handshake only negotiates the real ones.
 */
export const authenticateRequest = async (req: IncomingMessage, tokens: TokenAuthenticator): Promise<UserInfo> => {
  const fromCert = fromClientCertificate(req);
  if (fromCert) return withAuthenticatedGroup(fromCert);

  const bearer = bearerToken(req);
  if (bearer) {
    try {
      const user = await tokens(bearer);
      if (user) return withAuthenticatedGroup(user);
    } catch {
      // An error (webhook unreachable) fails this authenticator only; the union goes on.
    }
  }

  let fromProtocol: ProtocolToken | null = null;
  try {
    fromProtocol = protocolToken(req);
  } catch {
    fromProtocol = null;
  }
  if (fromProtocol) {
    try {
      const user = await tokens(fromProtocol.token);
      if (user) {
        req.headers['sec-websocket-protocol'] = fromProtocol.otherProtocols.join(',');
        return withAuthenticatedGroup(user);
      }
    } catch {
      // Same as above: fall through to 401.
    }
  }
  throw unauthorized();
};
