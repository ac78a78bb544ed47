/** A small HTTP/2 client for tests: one session to the gateway, requests as streams on it. */
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';

export interface H2Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

/** Opens an h2 session trusting `caPem`; resolves once the server's SETTINGS arrived. */
export function h2Session(url: string, caPem: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { ca: caPem, ALPNProtocols: ['h2'] });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

/** Starts a request on the session; the stream is returned as is (for watches and resets). */
export function h2Stream(session: ClientHttp2Session, method: string, path: string, options: { token?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {}): ClientHttp2Stream {
  const headers: OutgoingHttpHeaders = { ':method': method, ':path': path, ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const stream = session.request(headers, { endStream: options.body === undefined });
  if (options.body !== undefined) stream.end(options.body);
  return stream;
}

/** The response head of a stream. */
export function h2Head(stream: ClientHttp2Stream): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve, reject) => {
    stream.once('response', (headers) => resolve(headers as Record<string, string | string[] | undefined>));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error(`stream closed without a response (RST code ${stream.rstCode})`)));
  });
}

/** A whole request and answer on the session. */
export async function h2Call(session: ClientHttp2Session, method: string, path: string, options: Parameters<typeof h2Stream>[3] = {}): Promise<H2Answer> {
  const stream = h2Stream(session, method, path, options);
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (c: string) => (text += c));
  const headers = await h2Head(stream);
  await new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: Number(headers[':status']), headers, text, body };
}

/** Collects newline-separated JSON events from a watch stream; `next(n)` resolves once n have arrived. */
export function watchEvents(stream: ClientHttp2Stream) {
  const events: any[] = [];
  let buffered = '';
  let waiters: Array<{ n: number; resolve: () => void }> = [];
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) events.push(JSON.parse(line));
    }
    waiters = waiters.filter((w) => (events.length >= w.n ? (w.resolve(), false) : true));
  });
  return {
    events,
    next(n: number): Promise<void> {
      if (events.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
}
