/**
 * Small raw clients for tests that need to see the wire: one HTTPS request (repeated header
 * lines preserved), a raw TLS upgrade, and polling helpers. They work against the double or
 * anything else that serves TLS with a known CA (a KubeDouble is a valid `TlsTarget`).
 */
import type http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

export interface TlsTarget {
  port: number;
  caPem: string;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RawRequest {
  method?: string;
  path: string;
  /** An array value is sent as one header line per element (never joined with commas). */
  headers?: Record<string, string | string[]>;
  body?: string;
  cert?: { certPem: string; keyPem: string };
  /** Host to connect to. Default 127.0.0.1. */
  host?: string;
}

/** One HTTPS request on a fresh connection, trusting `target.caPem`. */
export const request = (target: TlsTarget, options: RawRequest): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: options.host ?? '127.0.0.1',
        port: target.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        ca: target.caPem,
        agent: false,
        ...(options.cert ? { cert: options.cert.certPem, key: options.cert.keyPem } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });

export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/** Opens TLS, writes a raw request head, and resolves with the response head and any bytes after it. */
export const rawUpgrade = (target: TlsTarget, lines: string[]): Promise<{ socket: tls.TLSSocket; head: string; rest: Buffer }> =>
  new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: target.port, ca: target.caPem, servername: 'localhost' }, () => {
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ socket, head: buffered.subarray(0, end).toString('utf8'), rest: buffered.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });

/** Reads text from a socket until `predicate` holds or the peer ends (3 s at most). */
export const readUntil = (socket: tls.TLSSocket, predicate: (text: string) => boolean, initial = ''): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = initial;
    if (predicate(text)) {
      resolve(text);
      return;
    }
    const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(text)}`)), 3000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (predicate(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs`. */
export const eventually = async (check: () => boolean, timeoutMs = 2000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
