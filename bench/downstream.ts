/**
 * A fast stand-in for kube-apiserver in throughput runs: HTTPS, checks a bearer token, answers a
 * ~1.4 KB JSON list. Run as its own process: `node --import tsx bench/downstream.ts <port> <certDir>`.
 *
 * Besides the list (every plain GET), the suite (bench/run.ts) uses three more answers:
 * - `GET …?watch=true` (or `watch=1`): a watch that sends its headers and then nothing, held open
 *   until the client goes away (idle watches, scenario 3);
 * - `GET …?bytes=N`: N bytes of body, streamed with back-pressure (downloads, scenario 4);
 * - `PUT`/`POST`: reads the whole body and answers `{"bytes":N}` (uploads, scenario 4).
 *
 * With `DOWNSTREAM_HTTP2=1` it offers HTTP/2 and HTTP/1.1 through ALPN, as kube-apiserver does
 * (node:http2 with `allowHTTP1`; up to 1000 streams a connection, kube-apiserver's default).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

const [port = '0', dir = '.'] = process.argv.slice(2);
const items = Array.from({ length: 8 }, (_, i) => ({
  metadata: { name: `cm-${i}`, namespace: 'default', uid: `00000000-0000-0000-0000-00000000000${i}`, resourceVersion: String(1000 + i) },
  data: { key: 'value', other: 'x'.repeat(40) },
}));
const body = Buffer.from(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '1008' }, items }));
const expected = `Bearer ${process.env.DOWNSTREAM_TOKEN ?? 'downstream-token'}`;
const CHUNK = Buffer.alloc(64 * 1024, 'k');

/** Holds a watch open with headers only, as kube-apiserver does while nothing changes. */
function watch(req: IncomingMessage, res: ServerResponse): void {
  // HTTP/2 frames the open-ended body itself and has no connection-level headers or socket to tune.
  const http1 = req.httpVersionMajor === 1;
  res.writeHead(200, http1 ? { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } : { 'Content-Type': 'application/json' });
  res.flushHeaders();
  if (http1) req.socket.setKeepAlive(true, 60_000);
}

/** Streams `total` bytes, waiting for 'drain' when the client is slower than us. */
function download(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

/** Reads and counts a request body, then answers with the count. */
function upload(req: IncomingMessage, res: ServerResponse): void {
  let bytes = 0;
  req.on('data', (c: Buffer) => (bytes += c.length));
  req.on('end', () => {
    const answer = JSON.stringify({ bytes });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': answer.length });
    res.end(answer);
  });
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.authorization !== expected) {
    res.writeHead(401).end();
    return;
  }
  const url = req.url!;
  // The common case first and cheaply: a plain GET answers the list.
  if (req.method === 'GET' && !url.includes('?')) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
    return;
  }
  if (req.method === 'PUT' || req.method === 'POST') return upload(req, res);
  const query = new URLSearchParams(url.slice(url.indexOf('?') + 1));
  const w = query.get('watch');
  if (w === 'true' || w === '1') return watch(req, res);
  const bytes = query.get('bytes');
  if (bytes !== null) return download(res, Number(bytes));
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

const tls = { cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')) };
// The HTTP/2 compatibility request and response offer the calls used here.
const server =
  process.env.DOWNSTREAM_HTTP2 === '1'
    ? createSecureServer({ ...tls, allowHTTP1: true, settings: { maxConcurrentStreams: 1000 } }, handle as never)
    : createServer({ ...tls, keepAliveTimeout: 60_000 }, handle);
server.listen(Number(port), '127.0.0.1', 1024, () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
