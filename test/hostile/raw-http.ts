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

/** Sends `bytes` and resolves with the answer's head as soon as it arrives (upgrades stay open); the caller destroys the socket. */
export function rawHead(port: number, ca: string, bytes: string | Buffer): Promise<{ socket: TLSSocket; status: number; head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => socket.write(bytes));
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      resolve({ socket, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before an answer: ${buf.toString('latin1')}`)));
  });
}
