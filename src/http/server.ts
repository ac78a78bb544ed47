/**
 * The gateway's HTTP(S) server: `/k8s/...` goes straight to the proxy's handlers, everything else
 * to the management API and web UI. Every answer the server makes on its own (an unparsable
 * request, a header block over the limits, an upgrade outside the proxy) is a `Status` written by
 * `writeStatusToSocket`, like every other error.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { badRequest, ConfigError, GatewayError, notFound } from '../errors.js';
import type { ListenAddress } from '../config/values.js';
import { sendStatus, writeStatusToSocket } from './render-error.js';

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
}

export interface Routes {
  /** `/k8s/...` requests. */
  proxy: { handleRequest(req: IncomingMessage, res: ServerResponse): unknown; handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): unknown };
  /** Everything else (the Express app). */
  app: (req: IncomingMessage, res: ServerResponse) => void;
  /** True for a path the proxy serves. */
  isProxyPath(url: string): boolean;
  /** Other upgrades: tunnels that agents and peer replicas open (docs/agent-tunnel.md). */
  tunnels?: { matches(url: string): boolean; handleUpgrade(req: IncomingMessage, socket: Duplex): unknown };
  /** Runs before either sees a request (tracking for shutdown, draining). */
  onRequest(req: IncomingMessage, res: ServerResponse): void;
}

/** The 431 for a request with more header lines than `limit`, or undefined. */
function tooManyHeaderLines(req: IncomingMessage, limit: number): GatewayError | undefined {
  if (req.rawHeaders.length <= 2 * limit) return undefined;
  return new GatewayError('RequestHeaderFieldsTooLarge', `more than ${limit} request header lines`, { headers: { Connection: 'close' } });
}

/** Builds (does not start) the server. */
export function createGatewayServer(options: ServerOptions, routes: Routes): Server {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const padded = tooManyHeaderLines(req, options.maxHeaderLines);
    if (padded) return void sendStatus(res, padded);
    routes.onRequest(req, res);
    if (routes.isProxyPath(req.url!)) void routes.proxy.handleRequest(req, res);
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
  const server: Server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.certPem, key: options.tls.keyPem }, onRequest)
    : createHttpServer(serverOptions, onRequest);
  // Node keeps at most this many lines and silently drops the rest: one more than the limit lets
  // a padded request be seen (and refused) rather than quietly cut.
  server.maxHeadersCount = options.maxHeaderLines + 1;
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
        ? new GatewayError('RequestHeaderFieldsTooLarge', `request headers larger than ${options.maxHeaderBytes} bytes`)
        : badRequest('malformed HTTP request');
    writeStatusToSocket(socket, refusal);
    // Do not wait for a client that never reads or closes its side.
    setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  });
  return server;
}

/**
 * Starts listening; resolves with the URL it listens on (the real port when asked for 0). A
 * failure is the operator's to fix: a `ConfigError` naming the setting.
 */
export async function listen(server: Server, address: ListenAddress, options: { settingName: string; secure: boolean }): Promise<string> {
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
