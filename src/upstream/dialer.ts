/**
 * How the gateway reaches a cluster's API server: every upstream connection (the HTTP/1.1 pool,
 * the HTTP/2 streams, an upgrade's tunnel) is opened through a `Dialer`, and TLS, when the
 * cluster's server URL is https, is added on top by `connector.ts`. Clusters the gateway reaches
 * over the network use `tcpDialer`; a cluster reached through an in-cluster agent gets a dialer
 * whose streams are carried by that agent's tunnel, and nothing else changes.
 */
import { connect as netConnect, type TcpNetConnectOpts } from 'node:net';
import type { Duplex } from 'node:stream';

/** Where the cluster's server URL points. */
export interface UpstreamAddress {
  host: string;
  port: number;
}

export interface Dialer {
  /**
   * Opens a byte stream to the cluster's API server; resolves once it is open. Rejects with an
   * error whose `code` says why (`ECONNREFUSED`, `ETIMEDOUT`, `EHOSTUNREACH`, …).
   */
  dial(address: UpstreamAddress, signal: AbortSignal): Promise<Duplex>;
}

/** TCP keep-alive probes on idle upstream connections, as undici's own connector sets them. */
const KEEP_ALIVE_DELAY_MS = 60_000;

/** A TCP connection to the address: clusters the gateway reaches over the network. */
export const tcpDialer: Dialer = {
  dial(address, signal) {
    return new Promise((resolve, reject) => {
      // The highWaterMark of Node's fs streams, as undici uses for plain sockets. Not the socket's
      // `signal` option: that would destroy the connection whenever the signal fires, long after.
      const options: TcpNetConnectOpts & { highWaterMark: number } = { host: address.host, port: address.port, highWaterMark: 64 * 1024 };
      const socket = netConnect(options);
      const fail = (err: Error): void => {
        signal.removeEventListener('abort', abort);
        socket.destroy();
        reject(err);
      };
      const abort = (): void => fail(signal.reason as Error);
      signal.addEventListener('abort', abort, { once: true });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
      socket.once('error', fail);
      socket.once('connect', () => {
        signal.removeEventListener('abort', abort);
        socket.off('error', fail);
        resolve(socket);
      });
    });
  },
};
