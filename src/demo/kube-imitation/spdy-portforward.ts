/**
 * `pods/<name>/portforward` over SPDY/3.1 (`portforward.k8s.io`), as `kubectl port-forward` speaks
 * it: per forwarded connection the client opens an `error` and a `data` stream, both with the
 * `port` and `requestid` headers; the server accepts them and connects the data stream to the
 * port. Every port of a pod in the double runs an echo server: what arrives on a data stream is
 * sent back on it, and its end ends the stream.
 */
import type { Duplex } from 'node:stream';
import type { UpgradeContext } from './context.js';
import { sendSwitchingProtocols } from './respond.js';
import { SpdyConnection } from './spdy-framing.js';

export const SPDY_PORTFORWARD_PROTOCOL = 'portforward.k8s.io';

/** Serves one port-forward session over SPDY/3.1 (the connection upgraded to SPDY). */
export const serveSpdyPortForward = (ctx: UpgradeContext): void => {
  const { socket, head, record } = ctx;
  sendSwitchingProtocols(socket, record, [
    ['Connection', 'Upgrade'],
    ['Upgrade', 'SPDY/3.1'],
    ['X-Stream-Protocol-Version', SPDY_PORTFORWARD_PROTOCOL],
  ]);
  const conn = portForwardOver(socket, ctx.streams.open(() => socket.destroy()));
  if (head.length > 0) conn.receive(head);
};

/**
 * The port-forward protocol on any byte stream: the upgraded socket, or a WebSocket's messages
 * (kubectl ≥ 1.31 tunnels the same SPDY frames over WebSocket, websocket-portforward.ts).
 */
export const portForwardOver = (stream: Duplex, untrack: () => void): SpdyConnection => {
  /** Data stream id → the request id it carries; request id → its error stream. */
  const dataStreams = new Map<number, string>();
  const errorStreams = new Map<string, number>();
  const conn = new SpdyConnection(stream, {
    onStream(id, headers) {
      conn.reply(id);
      const request = headers.requestid ?? '';
      if (headers.streamtype === 'data') dataStreams.set(id, request);
      if (headers.streamtype === 'error') errorStreams.set(request, id);
    },
    onData(id, data, fin) {
      if (!dataStreams.has(id)) return; // the client's end of an error stream: nothing to do
      if (data.length > 0) conn.data(id, data);
      if (fin) {
        // The connection is over: end its data stream, and its error stream with nothing to report
        // (kubectl waits for the error stream's end before it closes the local connection).
        conn.data(id, Buffer.alloc(0), true);
        const errorStream = errorStreams.get(dataStreams.get(id)!);
        if (errorStream !== undefined) conn.data(errorStream, Buffer.alloc(0), true);
        dataStreams.delete(id);
      }
    },
    onClose() {
      untrack();
    },
  });
  return conn;
};
