/**
 * A fast stand-in for kube-apiserver in throughput runs: HTTPS, checks a bearer token, answers a
 * ~1.4 KB JSON list. Run as its own process: `node --import tsx bench/downstream.ts <port> <certDir>`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';

const [port = '0', dir = '.'] = process.argv.slice(2);
const items = Array.from({ length: 8 }, (_, i) => ({
  metadata: { name: `cm-${i}`, namespace: 'default', uid: `00000000-0000-0000-0000-00000000000${i}`, resourceVersion: String(1000 + i) },
  data: { key: 'value', other: 'x'.repeat(40) },
}));
const body = Buffer.from(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '1008' }, items }));
const expected = `Bearer ${process.env.DOWNSTREAM_TOKEN ?? 'downstream-token'}`;

const server = createServer({ cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')), keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.headers.authorization !== expected) {
    res.writeHead(401).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
});
server.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
