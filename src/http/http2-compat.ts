/**
 * HTTP/2 requests as the handlers see them. Node's compatibility API hands every h2 stream to the
 * same request listener as HTTP/1.1, as an `Http2ServerRequest`/`Http2ServerResponse`; these
 * subclasses add the few members the handlers read on HTTP/1.1 that the compatibility objects
 * lack, so one code path serves both protocols:
 *
 * - `headersDistinct` (cookie crumbs, RFC 9113 §8.2.3, stay one line each, as several `Cookie`
 *   lines do on HTTP/1.1), built from `rawHeaders` without the pseudo-headers;
 * - `destroyed` on the response (the stream was reset or closed);
 * - a settable `statusMessage` (HTTP/2 has none; Express's final handler assigns one);
 * - `setHeader` returning the response, so calls chain as on HTTP/1.1.
 *
 * Pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) stay in `rawHeaders`: the strip
 * stage drops every name starting with `:` (strip-headers.ts). Connection-specific fields,
 * upper-case names and malformed pseudo-headers never get this far: nghttp2 resets such streams
 * with PROTOCOL_ERROR (RFC 9113 §8.2.2, §8.3), as Go's server (kube-apiserver) does.
 */
import { constants, Http2ServerRequest, Http2ServerResponse, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class GatewayHttp2Request extends Http2ServerRequest {
  private distinct: NodeJS.Dict<string[]> | undefined;

  /** Every header's lines, by lower-case name, pseudo-headers left out. */
  get headersDistinct(): NodeJS.Dict<string[]> {
    if (this.distinct) return this.distinct;
    // Prototype-free: a client header named `constructor` or `__proto__` is an ordinary name here.
    const out = Object.create(null) as NodeJS.Dict<string[]>;
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.startsWith(':')) continue;
      (out[name] ??= []).push(raw[i + 1]!);
    }
    return (this.distinct = out);
  }
}

export class GatewayHttp2Response extends Http2ServerResponse<GatewayHttp2Request> {}
// Accessors where Node's typings (wrongly, at runtime) declare plain properties.
Object.defineProperties(GatewayHttp2Response.prototype, {
  destroyed: {
    get(this: GatewayHttp2Response) {
      return this.stream.destroyed;
    },
  },
  // HTTP/2 has no reason phrase.
  statusMessage: { get: () => '', set: () => {} },
  // Returns the response, as `http.ServerResponse`'s does: Express and the routes chain it
  // (Node's HTTP/2 one returns undefined, so `res.setHeader(…).end()` threw over h2).
  setHeader: {
    configurable: true,
    writable: true,
    value(this: GatewayHttp2Response, name: string, value: number | string | readonly string[]) {
      Http2ServerResponse.prototype.setHeader.call(this, name, value);
      return this;
    },
  },
});

/** True for a request that arrived over HTTP/2. */
export function isHttp2(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2;
}

/**
 * True when the request has a body. An h2 request need not say `Content-Length` and never says
 * `Transfer-Encoding`: it has a body unless its HEADERS frame ended the stream.
 */
export function hasRequestBody(req: IncomingMessage): boolean {
  if (isHttp2(req)) return !(req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Ends an h2 client's connection after its open streams (GOAWAY), as `Connection: close` does on HTTP/1.1. */
export function closeConnectionAfter(req: IncomingMessage, res: ServerResponse): void {
  if (isHttp2(req)) (req as unknown as Http2ServerRequest).stream.session?.close();
  else res.setHeader('Connection', 'close');
}

/**
 * An answer is about to go out before the request's body was read: on HTTP/1.1 the connection
 * closes after it (no draining a body a stranger may trickle for ever); on HTTP/2 only the stream
 * ends, reset with NO_ERROR once the answer is written (RFC 9113 §8.1).
 */
export function answerBeforeBody(req: IncomingMessage, res: ServerResponse): void {
  if (!isHttp2(req)) return void res.setHeader('Connection', 'close');
  const stream = (req as unknown as Http2ServerRequest).stream;
  stream.once('finish', () => resetOnceAnswered(stream));
}

/** How long the answer's last frame may take to leave before the stream is reset anyway. */
const ANSWER_FLUSH_MS = 1_000;

/**
 * Resets a stream with NO_ERROR only once the frame ending the answer has been sent, as Go's
 * server does. 'finish' means the answer is handed to nghttp2, which sends RST_STREAM ahead of
 * queued DATA: reset then, and a client (Go's, kubectl's) loses the body ("stream error …
 * NO_ERROR" where the Status was). `state.localClose` turns 1 when END_STREAM has gone out.
 */
function resetOnceAnswered(stream: ServerHttp2Stream, since = Date.now()): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.state.localClose === 1 || Date.now() - since > ANSWER_FLUSH_MS) return void stream.close(constants.NGHTTP2_NO_ERROR);
  setImmediate(resetOnceAnswered, stream, since);
}
