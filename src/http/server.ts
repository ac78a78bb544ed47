/**
 * The gateway's HTTP(S) server: `/k8s/...` goes straight to the proxy's handlers, everything else
 * to the management API and web UI. Every answer the server makes on its own (an unparsable
 * request, a header block over the limits, an upgrade outside the proxy) is a `Status` written by
 * `writeStatusToSocket`, like every other error.
 */
import { createServer as createHttpServer, Server as HttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { constants as h2, createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { badRequest, ConfigError, GatewayError, notFound } from '../errors.js';
import type { ListenAddress } from '../config/values.js';
import { sendStatus, writeStatusToSocket } from './render-error.js';
import { closeConnectionAfter, GatewayHttp2Request, GatewayHttp2Response, isHttp2 } from './http2-compat.js';

/** A client that sent a bad request and neither reads nor closes is dropped after this. */
const CLIENT_ERROR_LINGER_MS = 1_000;
/** Kept-alive client connections idle this long are closed (above common balancers' 60 s). */
const KEEP_ALIVE_MS = 65_000;

export interface ServerOptions {
  /** Serve TLS with this certificate and key; plain HTTP without. */
  tls: { certPem: string; keyPem: string } | undefined;
  maxHeaderBytes: number;
  /** More request header lines than this are refused (431) before anything looks at them. */
  maxHeaderLines: number;
  headerTimeoutMs: number;
  /** Offer h2 by ALPN (TLS only); undefined: HTTP/1.1 only. */
  http2?: { maxConcurrentStreams: number };
}

/** A request listener; over h2 the objects are `http2-compat.ts`'s, with the same members used. */
type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export interface Routes {
  /** `/k8s/...` requests. */
  proxy: { handleRequest(req: IncomingMessage, res: ServerResponse): unknown; handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): unknown };
  /** Everything else (the Express app). */
  app: Listener;
  /** The same app for HTTP/2 requests (express-over-http2.ts); required with `http2`. */
  appOverHttp2?: Listener;
  /** True for a path the proxy serves. */
  isProxyPath(url: string): boolean;
  /** Other upgrades: tunnels that agents and peer replicas open (docs/agent-tunnel.md). */
  tunnels?: { matches(url: string): boolean; handleUpgrade(req: IncomingMessage, socket: Duplex): unknown };
  /** Runs before either sees a request (tracking for shutdown, draining). */
  onRequest(req: IncomingMessage, res: ServerResponse): void;
}

/** The 431 for a request with more header lines than `limit` (HTTP/2's pseudo-headers not counted), or undefined. */
function tooManyHeaderLines(req: IncomingMessage, limit: number): GatewayError | undefined {
  const raw = req.rawHeaders;
  if (raw.length <= 2 * limit) return undefined;
  if (isHttp2(req) && raw.filter((n, i) => i % 2 === 0 && n.startsWith(':')).length * 2 + 2 * limit >= raw.length) return undefined;
  // HTTP/2 has no Connection field: the session is closed with GOAWAY instead (closeConnectionAfter).
  return new GatewayError('RequestHeaderFieldsTooLarge', `more than ${limit} request header lines`, isHttp2(req) ? {} : { headers: { Connection: 'close' } });
}

/** The listener and what shutdown needs of its connections, whichever protocols it speaks. */
export interface GatewayServer {
  readonly listener: NetServer;
  /** HTTP/1.1: closes idle kept-alive connections. HTTP/2: GOAWAY to every session, which then ends after its open streams. */
  closeIdleConnections(): void;
  /** Closes every connection and session at once. */
  closeAllConnections(): void;
}

/** HTTP/2 connection limits (RFC 9113 §6.5.2, §10.5), kube-apiserver's where it has one. */
function http2Settings(options: ServerOptions, maxConcurrentStreams: number) {
  return {
    settings: {
      maxConcurrentStreams,
      // HPACK bombs: the decoded header list, not the compressed bytes, is what is limited.
      maxHeaderListSize: options.maxHeaderBytes,
      // Server push is not HTTP/2 that clients of kube-apiserver use.
      enablePush: false,
    },
    // Header lines per request: a few above --max-header-lines (and the pseudo-headers), so a
    // padded request is seen and gets its 431; far above it nghttp2 resets the stream itself.
    maxHeaderListPairs: options.maxHeaderLines + 8,
    // Streams refused for exceeding the concurrency limit, and malformed frames, before the
    // session is ended with ENHANCE_YOUR_CALM; resets beyond nghttp2's rate end it too (CVE-2023-44487).
    maxSessionRejectedStreams: 100,
    maxSessionInvalidFrames: 100,
  };
}

/** Builds (does not start) the server. */
export function createGatewayServer(options: ServerOptions, routes: Routes): GatewayServer {
  const overHttp2 = routes.appOverHttp2 ?? routes.app;
  const tooLarge = `request headers larger than ${options.maxHeaderBytes} bytes`;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const padded = tooManyHeaderLines(req, options.maxHeaderLines);
    if (padded) {
      if (isHttp2(req)) closeConnectionAfter(req, res);
      return void sendStatus(res, padded);
    }
    // nghttp2 advertises SETTINGS_MAX_HEADER_LIST_SIZE but Node does not hold decoded header
    // lists to it: an HPACK bomb (a few indexed bytes decoding to kilobytes each) gets the 431
    // that the same headers get on HTTP/1.1, before anything reads them.
    if (isHttp2(req) && headerListSize(req.rawHeaders) > options.maxHeaderBytes) {
      sendStatus(res, new GatewayError('RequestHeaderFieldsTooLarge', tooLarge));
      return;
    }
    routes.onRequest(req, res);
    if (routes.isProxyPath(req.url!)) void routes.proxy.handleRequest(req, res);
    else if (isHttp2(req)) overHttp2(req, res);
    else routes.app(req, res);
  };
  const serverOptions = {
    maxHeaderSize: options.maxHeaderBytes,
    // Slowloris: headers must arrive in time. No whole-request timeout: proxied uploads, watches
    // and exec streams run as long as they need; API bodies have their own limit (api/app.ts).
    headersTimeout: options.headerTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(30_000, Math.max(250, options.headerTimeoutMs / 4)),
    keepAliveTimeout: KEEP_ALIVE_MS,
  };
  let server: Server | Http2SecureServer;
  const sessions = new Set<ServerHttp2Session>();
  if (options.tls && options.http2) {
    // One listener for both (like kube-apiserver): ALPN picks h2 or http/1.1, and HTTP/1.1
    // connections get Node's HTTP/1.1 server code, with the options below, unchanged.
    const secure = createSecureServer(
      {
        cert: options.tls.certPem,
        key: options.tls.keyPem,
        allowHTTP1: true,
        ...http2Settings(options, options.http2.maxConcurrentStreams),
        Http2ServerRequest: GatewayHttp2Request,
        Http2ServerResponse: GatewayHttp2Response,
      },
      onRequest as never,
    );
    Object.assign(secure, serverOptions, { requireHostHeader: true });
    // A failed TLS handshake is no HTTP request: no Status on that socket (as with https.Server).
    secure.removeAllListeners('tlsClientError');
    secure.on('tlsClientError', (_err: Error, socket: Duplex) => socket.destroy());
    secure.on('session', (session: ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
      session.on('error', () => session.destroy());
      closeWhenIdle(session);
    });
    server = secure;
  } else {
    server = options.tls
      ? createHttpsServer({ ...serverOptions, cert: options.tls.certPem, key: options.tls.keyPem }, onRequest)
      : createHttpServer(serverOptions, onRequest);
  }
  // Node keeps at most this many lines and silently drops the rest: one more than the limit lets
  // a padded request be seen (and refused) rather than quietly cut.
  (server as Server).maxHeadersCount = options.maxHeaderLines + 1;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const padded = tooManyHeaderLines(req, options.maxHeaderLines);
    if (padded) writeStatusToSocket(socket, padded);
    else if (routes.isProxyPath(req.url!)) void routes.proxy.handleUpgrade(req, socket, head);
    else if (routes.tunnels?.matches(req.url!)) {
      socket.on('error', () => socket.destroy());
      // A tunnel's first bytes come from our side (the HTTP/2 preface after the 101): nothing may be in `head`.
      if (head.length > 0) writeStatusToSocket(socket, badRequest('nothing may follow a tunnel request before its answer'));
      else void routes.tunnels.handleUpgrade(req, socket);
    } else writeStatusToSocket(socket, notFound('upgrades are served under /k8s/clusters/ only'));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const refusal =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new GatewayError('RequestHeaderFieldsTooLarge', tooLarge)
        : badRequest('malformed HTTP request');
    writeStatusToSocket(socket, refusal);
    // Do not wait for a client that never reads or closes its side.
    setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  });
  // With allowHTTP1 the HTTP/1.1 connections are tracked by the same code as http.Server's.
  const http1 = server as Server;
  return {
    listener: server,
    closeIdleConnections() {
      http1.closeIdleConnections();
      for (const s of sessions) s.close();
    },
    closeAllConnections() {
      HttpServer.prototype.closeAllConnections.call(http1);
      for (const s of sessions) s.destroy(undefined, h2.NGHTTP2_NO_ERROR);
    },
  };
}

/** A header list's size as HTTP/2 counts it (RFC 9113 §6.5.2: each field's name and value plus 32). */
function headerListSize(raw: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < raw.length; i++) size += raw[i]!.length + (i % 2 === 0 ? 32 : 0);
  return size;
}

/**
 * Closes (GOAWAY) an h2 session that has had no open stream for the keep-alive time. Not the
 * session's inactivity timeout: a session carrying only silent watches is busy, not idle.
 */
function closeWhenIdle(session: ServerHttp2Session): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => session.close(), KEEP_ALIVE_MS);
    timer.unref();
  };
  session.on('stream', (stream) => {
    open++;
    clearTimeout(timer);
    stream.once('close', () => {
      if (--open === 0 && !session.closed) arm();
    });
  });
  session.once('close', () => clearTimeout(timer));
  arm();
}

/**
 * Starts listening; resolves with the URL it listens on (the real port when asked for 0). A
 * failure is the operator's to fix: a `ConfigError` naming the setting.
 */
export async function listen(server: NetServer, address: ListenAddress, options: { settingName: string; secure: boolean }): Promise<string> {
  const { settingName } = options;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(`${settingName}: cannot listen on ${address.host}:${address.port}: ${err.code ?? err.message}`)),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `${options.secure ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound.port}`;
}
