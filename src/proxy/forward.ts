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
import { credentialRejected, impersonationRefusal, impersonationRejected, REFUSAL_BODY_LIMIT } from '../clusters/credential-refusal.js';
import { GatewayError } from '../errors.js';
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
    // The cluster refused the gateway's credential, not the user: never relayed (credential-refusal.ts).
    if (statusCode === 401) {
      this.refusal = credentialRejected(this.exchange.clusterId!);
      return true;
    }
    // A 403 is the user's (RBAC) unless it refuses impersonation: read its small body first.
    if (statusCode === 403) {
      this.held = { statusCode, raw, chunks: [], size: 0 };
      return true;
    }
    return this.writeHead(statusCode, raw);
  }

  onData(chunk: Buffer): boolean {
    if (this.refusal || this.failedHead) return true;
    if (this.held) {
      this.held.chunks.push(chunk);
      this.held.size += chunk.length;
      if (this.held.size <= REFUSAL_BODY_LIMIT) return true;
      const body = this.release();
      if (!body) return true;
      chunk = body;
    }
    this.exchange.bytes += chunk.length;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }

  onComplete(): void {
    this.complete = true;
    if (this.failedHead) return;
    if (this.refusal) return this.settle(this.refusal);
    if (this.held) {
      // A checked `kubectl --as` that the impersonator's role cannot carry (an extra it lacks) is
      // the cluster's answer to what the user asked: relayed, not a broken credential.
      const refusal = this.exchange.impersonated ? undefined : impersonationRefusal(Buffer.concat(this.held.chunks));
      if (refusal) return this.settle(impersonationRejected(this.exchange.clusterId!, refusal));
      const body = this.release();
      if (!body) return;
      this.exchange.bytes += body.length;
      this.res.write(body);
    }
    this.res.end();
    this.settle();
  }

  private refusal: GatewayError | undefined;
  private held: { statusCode: number; raw: Buffer[]; chunks: Buffer[]; size: number } | undefined;

  /** Sends the answer's headers; false (the exchange settled with the error) when they cannot be sent. */
  private writeHead(statusCode: number, raw: Buffer[]): boolean {
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

  /** A held 403 that is the user's after all: its headers go out; returns what was held of its body (undefined: it cannot go out). */
  private release(): Buffer | undefined {
    const held = this.held!;
    this.held = undefined;
    if (!this.writeHead(held.statusCode, held.raw)) {
      this.refusal = undefined;
      this.failedHead = true;
      return undefined;
    }
    return Buffer.concat(held.chunks);
  }

  /** The headers could not be sent: the exchange has settled, the rest of the answer is dropped. */
  private failedHead = false;

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
    if (err instanceof GatewayError) throw err;
    if (!res.headersSent) throw unreachable(target.route, err as NodeJS.ErrnoException);
    res.destroy();
  }
}
