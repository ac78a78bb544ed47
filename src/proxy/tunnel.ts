/**
 * Upgrades (WebSocket `v5.channel.k8s.io`, `SPDY/3.1`, port-forward) as a raw-socket tunnel.
 * The upstream's answer is relayed as-is: a 101 joins the two sockets; anything else (kubectl
 * ≥ 1.30 falls back from WebSocket to SPDY on a refusal) reaches the client unchanged.
 * Any error or close on either side closes both; nothing here may throw out of an event.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { credentialRejected, impersonationRefusal, impersonationRejected, REFUSAL_BODY_LIMIT } from '../clusters/credential-refusal.js';
import { forwardableResponseHeaders } from '../upstream/hop-by-hop.js';
import { unreachable, type UpstreamTarget } from '../upstream/target.js';
import { upgradeRequest } from '../upstream/upgrade-request.js';
import type { ProxyExchange } from './exchange.js';

function headerBlock(statusCode: number, statusMessage: string | undefined, raw: readonly string[]): string {
  let out = `HTTP/1.1 ${statusCode} ${statusMessage || STATUS_CODES[statusCode] || ''}\r\n`;
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${out}\r\n`;
}

/** Joins two sockets until either ends; resolves once both are closed. Counts bytes both ways. */
function join(a: Duplex, b: Duplex, exchange: ProxyExchange): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const done = (): void => {
      a.destroy();
      b.destroy();
      if (--open === 0) resolve();
    };
    for (const s of [a, b]) {
      s.once('close', done);
      s.on('error', () => s.destroy());
      s.on('data', (chunk: Buffer) => (exchange.bytes += chunk.length));
    }
    a.pipe(b);
    b.pipe(a);
  });
}

/**
 * Tunnels an upgrade request to the cluster; resolves when the tunnel (or the relayed refusal)
 * is over, and rejects with a 503 only while nothing has been answered yet.
 */
export function tunnel(call: { req: IncomingMessage; socket: Duplex; head: Buffer; target: UpstreamTarget; exchange: ProxyExchange }): Promise<void> {
  const { req, socket: client, head, target, exchange } = call;
  return new Promise((resolve, reject) => {
    let answered = false;
    const upstream = upgradeRequest(req.method, target);
    client.on('error', () => upstream.destroy());
    client.on('close', () => {
      upstream.destroy();
      if (!answered) resolve();
    });

    upstream.on('upgrade', (answer, socket, upstreamHead) => {
      answered = true;
      exchange.answered(101);
      socket.setTimeout(0);
      socket.setNoDelay(true);
      client.write(headerBlock(101, answer.statusMessage, [...answer.rawHeaders, 'X-Request-Id', exchange.requestId]));
      if (upstreamHead.length > 0) client.write(upstreamHead);
      if (head.length > 0) socket.write(head);
      void join(client, socket, exchange).then(resolve);
    });

    upstream.on('response', (answer) => {
      answered = true;
      exchange.answered(answer.statusCode ?? 502);
      // The cluster refused the gateway's credential, not the user (credential-refusal.ts).
      if (answer.statusCode === 401) {
        answer.resume();
        return reject(credentialRejected(target.route.id));
      }
      if (answer.statusCode === 403) {
        const chunks: Buffer[] = [];
        let size = 0;
        answer.on('data', (c: Buffer) => {
          size += c.length;
          chunks.push(c);
        });
        answer.on('error', () => client.destroy());
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          // A checked `kubectl --as` the impersonator's role cannot carry is relayed (forward.ts).
          const refusal = size <= REFUSAL_BODY_LIMIT && !exchange.impersonated ? impersonationRefusal(body) : undefined;
          if (refusal) return reject(impersonationRejected(target.route.id, refusal));
          client.end(Buffer.concat([Buffer.from(headerBlock(403, answer.statusMessage, [...forwardableResponseHeaders(answer.rawHeaders), 'Connection', 'close'])), body]));
          resolve();
        });
        return;
      }
      // Refused upgrade: relay status, headers and body, then close.
      client.write(headerBlock(answer.statusCode ?? 502, answer.statusMessage, [...forwardableResponseHeaders(answer.rawHeaders), 'X-Request-Id', exchange.requestId, 'Connection', 'close']));
      answer.pipe(client);
      answer.on('error', () => client.destroy());
      answer.on('end', () => resolve());
    });

    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) {
        client.destroy();
        resolve();
      } else {
        reject(unreachable(target.route, err));
      }
    });

    (client as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
    upstream.end();
  });
}
