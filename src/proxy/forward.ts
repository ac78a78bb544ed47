/**
 * Stage 5: send the request to the cluster and stream the answer back.
 *
 * Our own small forwarder on node:http rather than http-proxy: the outgoing header lines must be
 * exactly the stripped-and-impersonated raw list (http-proxy rebuilds them from the joined
 * `req.headers`), the path must pass through byte for byte (its urlJoin normalises), and watch
 * headers must be flushed before the first event.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { unavailable } from '../errors.js';
import { sendStatus } from '../http/render-error.js';
import type { ClusterRoute } from './cluster-directory.js';

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

/** Forwards `req` to the cluster; resolves when the exchange is over (or abandoned by either side). */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: { route: ClusterRoute; path: string; headers: string[] },
  log: Logger,
): Promise<void> {
  const { route } = target;
  return new Promise((resolve) => {
    const send = route.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send({
      agent: route.agent,
      hostname: route.hostname,
      port: route.port,
      method: req.method,
      path: route.basePath + target.path,
      headers: target.headers as unknown as Record<string, string>,
      setHost: false,
    });

    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, responseHeaders(answer.rawHeaders) as unknown as Record<string, string>);
      // Watches and log follows: the client sees headers now, and every chunk as it arrives.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
      answer.on('end', () => resolve());
    });

    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (!res.headersSent) {
        log.warn({ cluster: route.id, code: err.code, err: err.message }, 'cluster unreachable');
        sendStatus(res, unavailable(`cluster "${route.id}" is unreachable`, err));
      } else {
        res.destroy();
      }
      resolve();
    });

    // The client went away (kubectl ^C on a watch): release the upstream request at once.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
      resolve();
    });

    req.pipe(upstream);
  });
}
