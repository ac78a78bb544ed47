/**
 * Last step: send the request to the cluster and stream the answer back.
 *
 * Our own small forwarder rather than http-proxy: the outgoing header lines must be exactly the
 * stripped-and-impersonated raw list (http-proxy rebuilds them from the joined `req.headers`),
 * the path must pass through byte for byte (its urlJoin normalises), and watch headers must be
 * flushed before the first event. Ordinary requests go through undici (per-cluster pool), the
 * fastest upstream client measured here (docs/BENCHMARKS.md); long-running ones through the
 * route's stream dispatcher (upstream/stream-dispatcher.ts); upgrades through tunnel.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { hasRequestBody } from '../http/http2-compat.js';
import { forwardableResponseHeaders } from '../upstream/hop-by-hop.js';
import { unreachable, type UpstreamTarget } from '../upstream/target.js';
import type { ProxyExchange } from './exchange.js';

/**
 * Relays the cluster's answer to the client, as an undici dispatch handler: the raw header lines
 * (their case and repeats kept, hop-by-hop ones dropped), then the body with back-pressure, bytes
 * counted for the audit line. Lighter than `Dispatcher.stream()`, which wraps every response in a
 * stream handler and end-of-stream listeners.
 */
class ResponseRelay implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private readonly onDrain = (): void => this.resumeUpstream?.();
  /** The whole answer was relayed (not `writableFinished`: an h2 stream reset by the client reports that too). */
  private complete = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly exchange: ProxyExchange,
    /** Watches and log follows: headers go out at once, not with the first chunk. */
    private readonly streaming: boolean,
    private readonly settle: (err?: Error) => void,
  ) {}

  /** The client left before the answer ended: cancel upstream, freeing (or resetting) the connection. */
  clientGone(): void {
    if (!this.complete) this.abortUpstream?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    this.resumeUpstream = resume;
    this.exchange.answered(statusCode);
    const out = forwardableResponseHeaders(raw);
    out.push('X-Request-Id', this.exchange.requestId);
    try {
      this.res.writeHead(statusCode, out as unknown as Record<string, string>);
    } catch (err) {
      // Lines HTTP/2 cannot carry (a repeated Content-Type, RFC 9113 §8.2.2): the answer is unusable.
      this.abortUpstream?.(err as Error);
      this.settle(err as Error);
      return false;
    }
    // Other answers send headers with their first chunk: one TLS record fewer per request.
    if (this.streaming) this.res.flushHeaders();
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.exchange.bytes += chunk.length;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }

  onComplete(): void {
    this.complete = true;
    this.res.end();
    this.settle();
  }

  onError(err: Error): void {
    this.settle(err);
  }
}

/**
 * Forwards the request; resolves when the exchange is over or abandoned by either side, and
 * rejects with a 503 only while nothing has been answered yet.
 */
export async function forward(call: { req: IncomingMessage; res: ServerResponse; target: UpstreamTarget; exchange: ProxyExchange }): Promise<void> {
  const { req, res, target, exchange } = call;
  const { longRunning } = target;
  // Long-running requests share HTTP/2 connections when the cluster offers h2 (stream-dispatcher.ts).
  const dispatcher: Dispatcher = longRunning ? target.route.streams : target.route.pool;
  // The client left (or reset its h2 stream) while the stages ran: nothing goes upstream, so
  // opening and cancelling streams at once (CVE-2023-44487) costs the cluster nothing.
  if (res.destroyed || res.writableFinished) return;
  try {
    await new Promise<void>((resolve, reject) => {
      const relay = new ResponseRelay(res, exchange, longRunning, (err) => (err ? reject(err) : resolve()));
      // A watch may stay silent for hours, and a paused answer waits for a drain that will not
      // come: only this notices that the client went away.
      res.on('close', () => relay.clientGone());
      dispatcher.dispatch(
        { path: target.route.basePath + target.path, method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: target.headers, body: hasRequestBody(req) ? req : null },
        relay,
      );
    });
  } catch (err) {
    if (res.destroyed) return;
    if (!res.headersSent) throw unreachable(target.route, err as NodeJS.ErrnoException);
    res.destroy();
  }
}
