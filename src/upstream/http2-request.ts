/**
 * One HTTP/2 request: a long-running request on a stream of a shared connection (see
 * stream-dispatcher.ts), reporting to undici's dispatch handler, so forward() reads the same
 * whichever protocol carried the request.
 */
import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import { errors, type Dispatcher } from 'undici';
import { isHopRequestHeader } from './hop-by-hop.js';

type Handler = Dispatcher.DispatchHandler;

/** One request on one HTTP/2 stream. */
export class Http2Request {
  private stream: ClientHttp2Stream | undefined;
  private done = false;
  private started = false;
  private trailers: string[] = [];

  constructor(
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly handler: Handler,
    private readonly authority: string,
  ) {
    // Registered at once, so an abort while the connection is still opening counts.
    handler.onConnect?.((err) => this.abort(err));
  }

  /**
   * Hands the handler over to the HTTP/1.1 fallback (which calls onConnect again with its own
   * abort), unless the request was aborted meanwhile.
   */
  handlerIfUnstarted(): Handler | undefined {
    if (this.done) return undefined;
    this.done = true;
    return this.handler;
  }

  /** Sends the request on a stream of `session`; `release` gives the stream slot back when it closes. */
  start(session: ClientHttp2Session, release: () => void): void {
    if (this.done) return release();
    let stream: ClientHttp2Stream;
    const body = this.opts.body as Readable | Buffer | string | null | undefined;
    try {
      stream = session.request(http2Headers(this.opts, this.authority), { endStream: body == null });
    } catch (err) {
      release();
      return this.fail(err as Error);
    }
    this.stream = stream;
    this.started = true;
    // `on` rather than `once` for events that fire once anyway: no wrapper kept per watch.
    stream.on('close', () => {
      release();
      this.fail(new errors.SocketError(`upstream HTTP/2 stream closed (code ${stream.rstCode ?? 0})`));
    });
    stream.on('error', (err) => this.fail(err));
    stream.on('response', (headers) => this.onResponse(headers));
    stream.on('trailers', (headers) => (this.trailers = rawPairs(headers).map(String)));
    stream.on('end', () => this.complete());
    if (body == null) return;
    if (typeof body === 'string' || Buffer.isBuffer(body)) stream.end(body);
    else {
      body.on('error', (err) => this.abort(err));
      body.pipe(stream);
    }
  }

  private onResponse(headers: IncomingHttpHeaders): void {
    if (this.done) return;
    const stream = this.stream!;
    try {
      const resume = () => stream.resume();
      if (this.handler.onHeaders?.(Number(headers[':status']), rawPairs(headers), resume, '') === false) stream.pause();
    } catch (err) {
      return this.abort(err as Error);
    }
    stream.on('data', (chunk: Buffer) => {
      if (!this.done && this.handler.onData?.(chunk) === false) stream.pause();
    });
  }

  private complete(): void {
    if (this.done) return;
    this.done = true;
    this.handler.onComplete?.(this.trailers);
  }

  /** Ends the request with an error, once. */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.handler.onError?.(err);
  }

  /** The client went away (or the handler gave up): reset the stream, leave the connection. */
  private abort(err?: Error): void {
    this.fail(err ?? new errors.RequestAbortedError());
    if (this.started && !this.stream!.closed) this.stream!.close(constants.NGHTTP2_CANCEL);
  }
}

/** Header names Node would enumerate before all others (integer-like keys), breaking the line order. */
const INTEGER_LIKE = /^\d+$/;

/**
 * Fields Node's HTTP/2 refuses to send twice (`ERR_HTTP2_HEADER_SINGLE_VALUE`). A client's repeat
 * of one keeps its first line, as Go's `Header.Get` (kube-apiserver over HTTP/1.1) reads it, rather
 * than failing the whole request as if the cluster were unreachable.
 */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age', 'authorization',
  'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type',
  'date', 'dnt', 'etag', 'expires', 'from', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range', 'referer', 'retry-after', 'tk',
  'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

/**
 * The request's raw header pairs as HTTP/2 headers; repeated names stay separate fields, and the
 * fields go out in the order of the lines (the gateway's identity first). A prototype-free map, so
 * a client header named `constructor` or `__proto__` is an ordinary header; an all-digit name is
 * dropped, as Node would send it before every other field.
 */
export function http2Headers(opts: Pick<Dispatcher.DispatchOptions, 'method' | 'path' | 'headers'>, defaultAuthority: string): OutgoingHttpHeaders {
  const out = Object.create(null) as OutgoingHttpHeaders;
  out[':method'] = opts.method;
  out[':path'] = opts.path;
  out[':scheme'] = 'https';
  out[':authority'] = defaultAuthority;
  const raw = opts.headers as string[] | null | undefined;
  for (let i = 0; raw && i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    // HTTP/2 carries Host as :authority and forbids connection-specific headers (RFC 9113 §8.2.2).
    if (name === 'host') out[':authority'] = value;
    if (isHopRequestHeader(name) || INTEGER_LIKE.test(name)) continue;
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (SINGLE_VALUE.has(name)) continue;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [String(seen), value];
  }
  return out;
}

/** Response headers as undici's raw list (name, value, …), without pseudo-headers. */
function rawPairs(headers: IncomingHttpHeaders): Buffer[] {
  const out: Buffer[] = [];
  for (const name in headers) {
    if (name.startsWith(':')) continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) out.push(Buffer.from(name), Buffer.from(v));
    else if (value !== undefined) out.push(Buffer.from(name), Buffer.from(String(value)));
  }
  return out;
}
