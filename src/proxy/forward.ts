/**
 * Stage 5: send the request to the cluster and stream the answer back.
 *
 * Our own small forwarder rather than http-proxy: the outgoing header lines must be exactly the
 * stripped-and-impersonated raw list (http-proxy rebuilds them from the joined `req.headers`),
 * the path must pass through byte for byte (its urlJoin normalises), and watch headers must be
 * flushed before the first event. Ordinary requests go through undici (per-cluster pool), the
 * fastest upstream client measured here (see MEASUREMENTS.md); upgrades use node:https (tunnel.ts).
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'undici/types/header.js';
import { unavailable, type GatewayError } from '../errors.js';
import type { ClusterRoute } from './cluster-directory.js';
import type { ProxyExchange } from './exchange.js';

/** Where a prepared request goes. */
export interface UpstreamTarget {
  route: ClusterRoute;
  /** The kube path and query, as received. */
  path: string;
  /** Raw outgoing header pairs, stripped and impersonated. */
  headers: string[];
}

// Hop-by-hop response headers: Node frames the response to our client itself.
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'trailer', 'upgrade']);

/** The upstream's response headers, minus hop-by-hop lines, as raw pairs. */
export function responseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!DROP_RESPONSE.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** undici's parsed response headers as raw pairs, minus hop-by-hop lines; repeated lines stay separate. */
function flattenHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    if (DROP_RESPONSE.has(name)) continue;
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else if (value !== undefined) out.push(name, value);
  }
  return out;
}

/** Opens an upstream request with node:http(s) (upgrades; not yet sent). */
export function upstreamRequest(method: string | undefined, target: UpstreamTarget): ClientRequest {
  const { route } = target;
  return (route.protocol === 'https:' ? httpsRequest : httpRequest)({
    agent: route.agent,
    hostname: route.hostname,
    port: route.port,
    method,
    path: route.basePath + target.path,
    headers: target.headers as unknown as Record<string, string>,
    setHost: false,
  });
}

/** The 503 for a cluster that cannot be reached (refused, reset, TLS failure). */
export function unreachable(route: ClusterRoute, err: NodeJS.ErrnoException): GatewayError {
  return unavailable(`cluster "${route.id}" is unreachable (${err.code ?? 'connection failed'})`, err);
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Forwards the request; resolves when the exchange is over or abandoned by either side, and
 * rejects with a 503 only while nothing has been answered yet.
 */
export async function forward(call: { req: IncomingMessage; res: ServerResponse; target: UpstreamTarget; exchange: ProxyExchange }): Promise<void> {
  const { req, res, target, exchange } = call;
  const longRunning = exchange.info?.longRunning === true;
  // A stream may stay silent for hours: only an abort notices that its client went away.
  // Ordinary answers end soon, and a write to a closed response stops them anyway.
  const abort = longRunning ? new AbortController() : undefined;
  if (abort) res.once('close', () => res.writableFinished || abort.abort());
  // Long-running requests share HTTP/2 connections when the cluster offers h2 (cluster-directory.ts).
  const dispatcher = longRunning ? target.route.streams : target.route.pool;
  try {
    await dispatcher.stream(
      {
        path: target.route.basePath + target.path,
        method: (req.method ?? 'GET') as 'GET',
        headers: target.headers,
        body: hasBody(req) ? req : null,
        signal: abort?.signal,
      },
      ({ statusCode, headers }) => {
        exchange.answered(statusCode);
        const out = flattenHeaders(headers);
        out.push('X-Request-Id', exchange.requestId);
        res.writeHead(statusCode, out as unknown as Record<string, string>);
        // Watches and log follows: the client sees headers now, and every chunk as it arrives.
        // Other answers send headers with their first chunk: one TLS record fewer per request.
        if (longRunning) res.flushHeaders();
        return countBytes(res, exchange);
      },
    );
  } catch (err) {
    if (abort?.signal.aborted || res.destroyed) return;
    if (!res.headersSent) throw unreachable(target.route, err as NodeJS.ErrnoException);
    res.destroy();
  }
}

/** Counts body bytes written to `res` for the audit line (Node keeps no per-response count). */
function countBytes(res: ServerResponse, exchange: ProxyExchange): ServerResponse {
  const write = res.write;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (chunk && typeof (chunk as Buffer).length === 'number') exchange.bytes += (chunk as Buffer).length;
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  return res;
}
