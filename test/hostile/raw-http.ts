/** Raw HTTP/1.1 over TLS to the gateway: bytes exactly as written (no client normalisation). */
import { connect, type TLSSocket } from 'node:tls';

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
  /** True when the server closed without answering. */
  dropped: boolean;
}

export function gatewayPort(url: string): number {
  return Number(new URL(url).port);
}

/** Sends `bytes` and reads until the server closes or `timeoutMs` passes. */
export function rawExchange(port: number, ca: string, bytes: string | Buffer, timeoutMs = 5_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => socket.write(bytes));
    let text = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, head: split === -1 ? text : text.slice(0, split), body: split === -1 ? '' : text.slice(split + 4), dropped: !m });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c) => {
      text += c;
      // One answer is enough; the connection may stay open (keep-alive).
      const split = text.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(text.slice(0, split));
      if (split !== -1 && len && text.length >= split + 4 + Number(len[1])) done();
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
  });
}
