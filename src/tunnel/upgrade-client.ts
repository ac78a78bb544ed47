/**
 * The dialing side's first step: a TLS (or plain) connection to the accepting side and an HTTP/1.1
 * Upgrade to `kubegate-tunnel.v1`, written by hand so the request can carry a proof bound to this
 * very TLS session (a replica's peer proof, peer-auth.ts). Resolves with the socket once the 101
 * has arrived; any other answer rejects with its status and message.
 */
import { connect as netConnect } from 'node:net';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { TUNNEL_PROTOCOL } from './protocol.js';

/** The head of an answer is at most this long. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface UpgradeOptions {
  url: URL;
  /** The path to upgrade at. */
  path: string;
  /** Extra request headers; computed once the TLS session is up (so they may depend on it). */
  headers: (socket: Duplex) => Record<string, string>;
  /** PEM of the CA to trust; undefined for the system roots. */
  caPem?: string;
  /** False only where the request itself authenticates the far end (peer links). */
  rejectUnauthorized?: boolean;
  timeoutMs: number;
}

/** A refused upgrade: the far end's status and message. */
export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'UpgradeRefused';
  }
}

export interface Upgraded {
  socket: Duplex;
  headers: Record<string, string>;
}

function open(options: UpgradeOptions): Promise<Duplex> {
  const { url } = options;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  return new Promise((resolve, reject) => {
    const socket: Duplex =
      url.protocol === 'https:'
        ? tlsConnect({
            host,
            port,
            servername: isIP(host) ? undefined : host,
            ca: options.caPem,
            rejectUnauthorized: options.rejectUnauthorized ?? true,
            ALPNProtocols: ['http/1.1'],
          })
        : netConnect({ host, port });
    socket.once('error', reject);
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      (socket as TLSSocket).setNoDelay?.(true);
      (socket as TLSSocket).setKeepAlive?.(true, 30_000);
      resolve(socket);
    });
  });
}

/** Parses `HTTP/1.1 101 …` and its header lines (names lower-cased). */
function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!m) throw new Error('the far end did not answer HTTP');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), headers };
}

/** The message of an API error body (`{"error":{"message"}}` or a `Status`), shortened. */
function refusalMessage(body: string, status: number): string {
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown }; message?: unknown };
    const m = json.error?.message ?? json.message;
    if (typeof m === 'string') return m.slice(0, 200);
  } catch {
    // not JSON
  }
  return `the gateway answered ${status}`;
}

/** Dials and upgrades; the socket carries the tunnel after this resolves. */
export async function dialUpgrade(options: UpgradeOptions): Promise<Upgraded> {
  const socket = await open(options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(Object.assign(new Error('the upgrade was not answered in time'), { code: 'ETIMEDOUT' })), options.timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    let buf = Buffer.alloc(0);
    let answer: { status: number; headers: Record<string, string> } | undefined;
    let bodyStart = 0;
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (!answer) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) {
          if (buf.length > MAX_HEAD_BYTES) fail(new Error('the answer head is too large'));
          return;
        }
        try {
          answer = parseHead(buf.subarray(0, end).toString('latin1'));
        } catch (err) {
          return fail(err as Error);
        }
        bodyStart = end + 4;
        if (answer.status === 101) {
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('error', fail);
          socket.off('end', onEnd);
          socket.pause();
          // What followed the head already belongs to the tunnel.
          if (buf.length > bodyStart) socket.unshift(buf.subarray(bodyStart));
          return resolve({ socket, headers: answer.headers });
        }
      }
      const length = Number(answer.headers['content-length'] ?? NaN);
      if (buf.length - bodyStart >= length || buf.length > MAX_HEAD_BYTES * 2) onEnd();
    };
    const onEnd = (): void => {
      if (!answer) return fail(new Error('the connection closed before an answer'));
      const body = buf.subarray(bodyStart).toString('utf8');
      fail(new UpgradeRefused(answer.status, refusalMessage(body, answer.status)));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', fail);
    const host = options.url.host;
    const headers = { Host: host, Connection: 'Upgrade', Upgrade: TUNNEL_PROTOCOL, ...options.headers(socket) };
    let head = `GET ${options.path} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    socket.write(`${head}\r\n`);
  });
}
