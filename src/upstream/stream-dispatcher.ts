/**
 * The upstream side of long-running requests (watches, log follows) to one cluster. Over HTTP/2,
 * which kube-apiserver offers through ALPN, they share a few connections, one stream each: an idle
 * watch costs a stream, not a TLS connection, and a client closing its watch resets only its
 * stream (RST_STREAM). An upstream that answers ALPN with HTTP/1.1 (or speaks plain http) gets one
 * dedicated connection per request, closed with it: an HTTP/1.1 pool would keep a client per
 * watch for good.
 *
 * A small HTTP/2 client on node:http2 rather than undici's `allowH2`: undici (7.30) joins repeated
 * request headers into one comma-separated line over HTTP/2, and kube-apiserver reads each
 * `Impersonate-Group` line as one group (`a, b` would become a single group). An undici Client also
 * runs at most `pipelining` requests at once whatever the server's SETTINGS_MAX_CONCURRENT_STREAMS,
 * so watches would wait behind each other or beyond the server's limit. Here streams are counted
 * per connection, and a new connection opens when all are full.
 */
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { Client, Dispatcher, errors } from 'undici';
import type { Connector } from './connector.js';
import { Http2Request } from './http2-request.js';

/**
 * Streams per connection at most, fewer if the server's SETTINGS say so. kube-apiserver allows
 * 1000 by default, Go's server 250, nginx 128, HAProxy 100: 100 fits behind any of them.
 */
export const MAX_STREAMS_PER_CONNECTION = 100;
/** A connection left with no streams closes after this. */
const IDLE_CLOSE_MS = 60_000;
/** After the upstream chose HTTP/1.1, offer HTTP/2 again this much later (it may have been upgraded). */
const HTTP1_RECHECK_MS = 10 * 60_000;
/** The server's SETTINGS must follow the TLS handshake within this. */
const SETTINGS_TIMEOUT_MS = 10_000;
/**
 * Connection-level receive window. Node returns connection credit as data arrives, so a paused
 * stream holds back only its own 64 KiB stream window, never the other streams; the larger
 * connection window lets many log follows flow at once.
 */
const CONNECTION_WINDOW = 8 * 1024 * 1024;

/** One HTTP/2 connection and the streams it carries or has promised. */
interface Connection {
  session: ClientHttp2Session;
  streams: number;
  limit: number;
  /** GOAWAY received or closing: no new streams. */
  draining: boolean;
  idle?: NodeJS.Timeout;
}

type Handler = Dispatcher.DispatchHandler;

/** Dispatches long-running requests to one cluster (HTTP/2 streams, else a connection each). */
export class StreamDispatcher extends Dispatcher {
  private readonly connections = new Set<Connection>();
  private opening: Promise<Connection | undefined> | undefined;
  /** When the upstream last answered ALPN with HTTP/1.1. */
  private http1Since: number | undefined;
  private readonly dedicated = new Set<Client>();
  private destroyed = false;

  constructor(
    private readonly origin: URL,
    private readonly connector: Connector,
    /** Options for the dedicated undici `Client` of the HTTP/1.1 fallback. */
    private readonly http1: Client.Options,
  ) {
    super();
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.destroyed) {
      handler.onError?.(new errors.ClientDestroyedError());
      return false;
    }
    if (!this.offersHttp2()) return this.viaHttp1(opts, handler);
    const request = new Http2Request(opts, handler, this.origin.host);
    this.reserve().then(
      (connection) => {
        if (!connection) this.viaHttp1(opts, request.handlerIfUnstarted());
        else request.start(connection.session, () => this.released(connection));
      },
      (err: Error) => request.fail(err),
    );
    return true;
  }

  override close(callback?: () => void): Promise<void> {
    return this.destroy(null, callback);
  }

  /** Closes every connection: their streams end, and their clients see the watch end and retry. */
  override destroy(err?: Error | null | (() => void), callback?: () => void): Promise<void> {
    this.destroyed = true;
    for (const c of this.connections) c.session.destroy();
    this.connections.clear();
    for (const client of this.dedicated) void client.destroy().catch(() => {});
    this.dedicated.clear();
    const done = Promise.resolve();
    const cb = typeof err === 'function' ? err : callback;
    if (cb) void done.then(cb);
    return done;
  }

  private offersHttp2(): boolean {
    if (this.origin.protocol !== 'https:') return false;
    return this.http1Since === undefined || Date.now() - this.http1Since >= HTTP1_RECHECK_MS;
  }

  /** Today's HTTP/1.1 behaviour: a connection of its own, destroyed when the request ends. */
  private viaHttp1(opts: Dispatcher.DispatchOptions, handler: Handler | undefined): boolean {
    if (!handler) return false;
    const client = new Client(this.origin, { ...this.http1, pipelining: 0 });
    this.dedicated.add(client);
    const done = () => {
      this.dedicated.delete(client);
      void client.destroy().catch(() => {});
    };
    return client.dispatch(opts, {
      onConnect: (abort) => handler.onConnect?.(abort),
      onHeaders: (status, headers, resume, text) => handler.onHeaders?.(status, headers, resume, text) ?? true,
      onData: (chunk) => handler.onData?.(chunk) ?? true,
      onComplete: (trailers) => {
        handler.onComplete?.(trailers);
        done();
      },
      onError: (err) => {
        handler.onError?.(err);
        done();
      },
    });
  }

  /** A connection with a free stream, opening one when all are full; undefined: the upstream speaks HTTP/1.1. */
  private async reserve(): Promise<Connection | undefined> {
    for (;;) {
      for (const c of this.connections) {
        if (c.draining || c.streams >= c.limit) continue;
        c.streams++;
        if (c.idle) clearTimeout(c.idle);
        c.session.ref();
        return c;
      }
      if (!this.offersHttp2()) return undefined;
      this.opening ??= this.open().finally(() => (this.opening = undefined));
      const opened = await this.opening;
      if (!opened) return undefined;
      // A server that allows no streams at all would otherwise have us open connections forever.
      if (opened.limit < 1) throw new errors.SocketError('the upstream allows no HTTP/2 streams');
    }
  }

  private released(c: Connection): void {
    c.streams--;
    if (c.streams > 0 || c.session.destroyed) return;
    // Idle: let the process exit, and close the connection if nothing needs it for a while.
    c.session.unref();
    c.idle = setTimeout(() => {
      if (c.streams > 0) return;
      c.draining = true;
      this.connections.delete(c);
      c.session.close();
    }, IDLE_CLOSE_MS).unref();
  }

  /** Opens a connection offering h2 and http/1.1; resolves once the server's SETTINGS arrived. */
  private async open(): Promise<Connection | undefined> {
    if (this.destroyed) throw new errors.ClientDestroyedError();
    const { socket, protocol } = await this.connector.open(['h2', 'http/1.1']);
    if (protocol !== 'h2') {
      this.http1Since = Date.now();
      socket.destroy();
      return undefined;
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new errors.ConnectTimeoutError()), SETTINGS_TIMEOUT_MS);
      const session = http2Connect(this.origin, {
        createConnection: () => socket,
        peerMaxConcurrentStreams: MAX_STREAMS_PER_CONNECTION,
        settings: { enablePush: false },
      });
      const c: Connection = { session, streams: 0, limit: MAX_STREAMS_PER_CONNECTION, draining: false };
      session.on('error', fail); // its streams see the error too
      session.on('remoteSettings', (s) => {
        c.limit = Math.min(MAX_STREAMS_PER_CONNECTION, s.maxConcurrentStreams ?? MAX_STREAMS_PER_CONNECTION);
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.setLocalWindowSize(CONNECTION_WINDOW);
        if (this.destroyed) {
          session.destroy();
          return reject(new errors.ClientDestroyedError());
        }
        this.connections.add(c);
        resolve(c);
      });
      session.once('goaway', () => (c.draining = true));
      session.once('close', () => {
        c.draining = true;
        this.connections.delete(c);
        if (c.idle) clearTimeout(c.idle);
        fail(new errors.SocketError('closed before the HTTP/2 settings'));
      });
    });
  }
}
