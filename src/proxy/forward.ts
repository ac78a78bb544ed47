/**
 * Stage 5: send the request to the cluster and stream the answer back.
 *
 * Our own small forwarder on node:http rather than http-proxy: the outgoing header lines must be
 * exactly the stripped-and-impersonated raw list (http-proxy rebuilds them from the joined
 * `req.headers`), the path must pass through byte for byte (its urlJoin normalises), and watch
 * headers must be flushed before the first event.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

/** Opens the upstream request (not yet sent). */
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

/**
 * Forwards the request; resolves when the exchange is over or abandoned by either side, and
 * rejects with a 503 only while nothing has been answered yet.
 */
export function forward(call: { req: IncomingMessage; res: ServerResponse; target: UpstreamTarget; exchange: ProxyExchange }): Promise<void> {
  const { req, res, target, exchange } = call;
  return new Promise((resolve, reject) => {
    const upstream = upstreamRequest(req.method, target);

    upstream.on('response', (answer) => {
      exchange.answered(answer.statusCode ?? 502);
      const headers = responseHeaders(answer.rawHeaders);
      headers.push('X-Request-Id', exchange.requestId);
      res.writeHead(answer.statusCode ?? 502, headers as unknown as Record<string, string>);
      // Watches and log follows: the client sees headers now, and every chunk as it arrives.
      res.flushHeaders();
      answer.on('data', (chunk: Buffer) => (exchange.bytes += chunk.length));
      answer.pipe(res);
      answer.on('error', () => res.destroy());
      answer.on('end', () => resolve());
    });

    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        resolve();
      } else {
        reject(unreachable(target.route, err));
      }
    });

    // The client went away (kubectl ^C on a watch): release the upstream request at once.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
      resolve();
    });

    req.pipe(upstream);
  });
}
