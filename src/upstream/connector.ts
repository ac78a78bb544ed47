/**
 * Opens connections to one cluster: a stream from the cluster's `Dialer`, then TLS on top when its
 * server URL is https (verifying the cluster's CA, presenting the gateway's client certificate
 * when that is its credential), with the protocols asked for by ALPN and the last TLS session
 * resumed. All three upstream transports connect through here.
 */
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';
import type { Dialer, UpstreamAddress } from './dialer.js';

/** Dial plus TLS handshake must be done within this (undici's default connect timeout). */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface TlsSettings {
  /** Built once per cluster: otherwise every connection parses the CA and key again. */
  secureContext: SecureContext;
  /** SNI name; undefined for an IP address. */
  servername: string | undefined;
  rejectUnauthorized: boolean;
}

export interface UpstreamConnection {
  socket: Duplex;
  /** The protocol the server chose by ALPN; `http/1.1` for plain http. */
  protocol: string;
}

/** A connection error with the `code` `unreachable()` reports. */
function timedOut(): NodeJS.ErrnoException {
  return Object.assign(new Error('connecting to the cluster timed out'), { code: 'ETIMEDOUT' });
}

export class Connector {
  private session: Buffer | undefined;

  constructor(
    readonly address: UpstreamAddress,
    readonly tls: TlsSettings | undefined,
    private readonly dialer: Dialer,
    private readonly timeoutMs = CONNECT_TIMEOUT_MS,
  ) {}

  /** Opens a connection offering `alpn` (TLS only); rejects if not open within the timeout. */
  async open(alpn: readonly string[]): Promise<UpstreamConnection> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    let raw: Duplex;
    try {
      raw = await this.dialer.dial(this.address, deadline);
    } catch (err) {
      throw deadline.aborted ? timedOut() : err;
    }
    if (!this.tls) return { socket: raw, protocol: 'http/1.1' };
    const socket = await this.handshake(raw, alpn, deadline);
    return { socket, protocol: socket.alpnProtocol || 'http/1.1' };
  }

  /**
   * undici's `connect` option: HTTP/1.1 connections of the keep-alive pool and of the streams'
   * HTTP/1.1 fallback come from here too.
   */
  readonly undiciConnect: buildConnector.connector = (_options, callback) => {
    this.open(['http/1.1']).then(
      // A TLSSocket, or the dialer's plain stream: undici needs only a Duplex of it.
      (c) => callback(null, c.socket as TLSSocket),
      (err: Error) => callback(err, null),
    );
  };

  private handshake(raw: Duplex, alpn: readonly string[], deadline: AbortSignal): Promise<TLSSocket> {
    const tls = this.tls!;
    return new Promise((resolve, reject) => {
      const options: ConnectionOptions & { highWaterMark: number } = {
        socket: raw,
        // The name the certificate must carry (an IP address is checked against IP SANs).
        host: this.address.host,
        // TLS records are at most 16 KiB: a larger buffer only holds memory (undici's choice too).
        highWaterMark: 16_384,
        secureContext: tls.secureContext,
        servername: tls.servername,
        rejectUnauthorized: tls.rejectUnauthorized,
        ALPNProtocols: [...alpn],
        session: this.session,
      };
      const socket = tlsConnect(options);
      socket.on('session', (s: Buffer) => (this.session = s));
      const fail = (err: Error): void => {
        deadline.removeEventListener('abort', onAbort);
        socket.destroy();
        raw.destroy();
        reject(err);
      };
      const onAbort = (): void => fail(timedOut());
      deadline.addEventListener('abort', onAbort, { once: true });
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        deadline.removeEventListener('abort', onAbort);
        socket.off('error', fail);
        resolve(socket);
      });
    });
  }
}
