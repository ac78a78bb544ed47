/**
 * The floor for a Node proxy on this machine: an HTTPS server forwarding through an undici pool
 * with the same header work as kubegate (drop Authorization, add a bearer and impersonation
 * headers) and nothing else — no authentication, audit or metrics. Run by bench/proxy.ts:
 * `node --import tsx bench/minimal-proxy.ts <port> <downstream port> <cert dir> <downstream token>`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { Pool } from 'undici';

const [port = '0', downstreamPort = '0', dir = '.', token = ''] = process.argv.slice(2);
const pool = new Pool(`https://127.0.0.1:${downstreamPort}`, {
  connect: { ca: readFileSync(join(dir, 'ca.crt')) },
  headersTimeout: 0,
  bodyTimeout: 0,
});

const server = createServer({ cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')) }, (req, res) => {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name !== 'authorization' && name !== 'connection' && name !== 'host') headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  headers.push('Authorization', `Bearer ${token}`, 'Impersonate-User', 'alice', 'Impersonate-Group', 'kubegate:authenticated');
  pool
    .stream({ path: req.url!.replace(/^\/k8s\/clusters\/[^/]+/, ''), method: 'GET', headers }, ({ statusCode, headers: answer }) => {
      res.writeHead(statusCode, answer as Record<string, string>);
      return res;
    })
    .catch(() => res.destroy());
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
