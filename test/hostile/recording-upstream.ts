/**
 * A kube-apiserver stand-in speaking HTTP/2 (ALPN h2) that records the raw header lines it receives.
 * It takes as many header fields as Go's server does (Node's default is 128).
 */
import { createSecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { CertificateAuthority } from '../kube-double/index.js';

export interface RecordingUpstream {
  url: string;
  received: Array<{ httpVersion: string; path: string; rawHeaders: string[] }>;
  close(): Promise<void>;
}

export async function startRecordingUpstream(ca: CertificateAuthority): Promise<RecordingUpstream> {
  const received: RecordingUpstream['received'] = [];
  const sockets: TLSSocket[] = [];
  const server = createSecureServer({ cert: ca.serving.certPem, key: ca.serving.keyPem, allowHTTP1: true, maxHeaderListPairs: 4_000 }, (req, res) => {
    received.push({ httpVersion: req.httpVersion, path: req.url, rawHeaders: [...req.rawHeaders] });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  server.on('secureConnection', (s: TLSSocket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
