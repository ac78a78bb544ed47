/**
 * Upgrades (WebSocket `v5.channel.k8s.io`, `SPDY/3.1`, port-forward) as a raw-socket tunnel.
 * The upstream's answer is relayed as-is: a 101 joins the two sockets; anything else (kubectl
 * ≥ 1.30 falls back from WebSocket to SPDY on a refusal) reaches the client unchanged.
 * Any error or close on either side closes both; nothing here may throw out of an event.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { unavailable } from '../errors.js';
import { writeStatusToSocket } from '../http/render-error.js';
import type { ClusterRoute } from './cluster-directory.js';
import { responseHeaders } from './forward.js';

function headerBlock(statusCode: number, statusMessage: string | undefined, raw: readonly string[]): string {
  let out = `HTTP/1.1 ${statusCode} ${statusMessage || STATUS_CODES[statusCode] || ''}\r\n`;
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${out}\r\n`;
}

/** Joins two sockets until either ends; resolves once both are closed. */
function join(a: Duplex, b: Duplex): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const done = (): void => {
      a.destroy();
      b.destroy();
      if (--open === 0) resolve();
    };
    a.once('close', done);
    b.once('close', done);
    a.on('error', () => a.destroy());
    b.on('error', () => b.destroy());
    a.pipe(b);
    b.pipe(a);
  });
}

/** Tunnels an upgrade request to the cluster; resolves when the tunnel (or the refusal) is over. */
export function tunnel(
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  target: { route: ClusterRoute; path: string; headers: string[] },
  log: Logger,
): Promise<void> {
  const { route } = target;
  return new Promise((resolve) => {
    let settled = false;
    let answered = false;
    const finish = (): void => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
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

    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());

    upstream.on('upgrade', (answer, socket, upstreamHead) => {
      answered = true;
      socket.setTimeout(0);
      socket.setNoDelay(true);
      client.write(headerBlock(101, answer.statusMessage, answer.rawHeaders));
      if (upstreamHead.length > 0) client.write(upstreamHead);
      if (head.length > 0) socket.write(head);
      void join(client, socket).then(finish);
    });

    upstream.on('response', (answer) => {
      // Refused upgrade: relay status, headers and body, then close.
      answered = true;
      client.write(headerBlock(answer.statusCode ?? 502, answer.statusMessage, [...responseHeaders(answer.rawHeaders), 'Connection', 'close']));
      answer.pipe(client);
      answer.on('error', () => client.destroy());
      answer.on('end', finish);
    });

    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (!answered) {
        log.warn({ cluster: route.id, code: err.code, err: err.message }, 'cluster unreachable (upgrade)');
        writeStatusToSocket(client, unavailable(`cluster "${route.id}" is unreachable`, err));
      }
      client.destroy();
      finish();
    });

    (client as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
    upstream.end();
  });
}
