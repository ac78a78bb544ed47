/**
 * The side of a tunnel that answers streams: the agent on its connection to the gateway, and a
 * replica on a link a peer opened (protocol.ts). An HTTP/2 server session on a socket this side
 * dialed: `GET /v1/state` streams this side's state, CONNECT streams are handed to `connect`.
 */
import { createServer, constants, type Http2Session, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { keepSessionAlive } from './keep-alive.js';
import { CONNECTION_WINDOW, MAX_SESSION_MEMORY_MB, MAX_STREAMS, STATE_PATH, STREAM_WINDOW } from './protocol.js';

export interface TunnelHandlers {
  /** A state stream opened: write NDJSON lines to it for as long as it lasts. */
  state(stream: ServerHttp2Stream): void;
  /** A CONNECT stream: answer `:status` 200 and pipe it, or another status to refuse. */
  connect(authority: string, stream: ServerHttp2Stream): void;
}

/** Serves the tunnel protocol on `socket`; resolves with the session once it is set up. */
export function serveTunnel(socket: Duplex, handlers: TunnelHandlers): Promise<ServerHttp2Session> {
  const server = createServer({
    settings: { enablePush: false, initialWindowSize: STREAM_WINDOW, maxConcurrentStreams: MAX_STREAMS },
    maxSessionMemory: MAX_SESSION_MEMORY_MB,
    // A tunnel's streams stay open as long as a watch or an exec session does.
    unknownProtocolTimeout: 10_000,
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => stream.destroy());
    if (headers[':method'] === 'CONNECT') return handlers.connect(String(headers[':authority'] ?? ''), stream);
    if (headers[':method'] === 'GET' && headers[':path'] === STATE_PATH) return handlers.state(stream);
    stream.respond({ ':status': 404 }, { endStream: true });
  });
  return new Promise((resolve) => {
    server.once('session', (session: ServerHttp2Session) => {
      // Errors end the session; its 'close' is what the caller hears.
      session.on('error', () => {});
      session.once('remoteSettings', () => session.setLocalWindowSize(CONNECTION_WINDOW));
      keepSessionAlive(session as Http2Session);
      socket.once('close', () => session.destroy());
      resolve(session);
    });
    // The socket negotiated http/1.1 by ALPN (the upgrade was HTTP/1.1), which would make the
    // HTTP/2 server treat it as an HTTP/1.1 client: past the 101 it carries HTTP/2.
    if ('alpnProtocol' in socket) Object.defineProperty(socket, 'alpnProtocol', { value: 'h2', configurable: true });
    server.emit('connection', socket);
  });
}

/** Refuses a CONNECT stream with `status`. */
export function refuseStream(stream: ServerHttp2Stream, status: number): void {
  if (stream.destroyed) return;
  if (!stream.headersSent) stream.respond({ ':status': status }, { endStream: true });
  else stream.close(constants.NGHTTP2_REFUSED_STREAM);
}

/**
 * Joins an accepted CONNECT stream with the connection it stands for, both directions, with
 * back-pressure. An end is passed on as an end (half-close), so bytes still in flight arrive; a
 * reset or an error on either side destroys both.
 */
export function joinStream(stream: ServerHttp2Stream, target: Duplex): void {
  stream.respond({ ':status': 200 });
  const fail = (): void => {
    stream.destroy();
    target.destroy();
  };
  target.on('error', fail);
  stream.on('error', fail);
  stream.once('close', () => {
    if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) target.destroy();
    else target.end();
  });
  target.once('close', () => stream.closed || stream.end());
  stream.pipe(target);
  target.pipe(stream);
}
