/**
 * The baseline an operator would otherwise deploy: Debian's nginx, one worker, a plain
 * `proxy_pass` over TLS to the downstream with upstream keep-alive, doing the gateway's header work
 * with `proxy_set_header` (the client's Authorization replaced by the cluster bearer, identity in
 * Impersonate-User/Impersonate-Group). No authentication: it forwards anyone.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOWNSTREAM_TOKEN, freePort, type Workdir } from './fixture.js';
import { sleep, start, stop } from './processes.js';

export interface Nginx {
  port: number;
  url: string;
  process: ChildProcess;
  config: string;
  stop(): Promise<void>;
}

export function nginxConfig(dir: string, port: number, downstreamPort: number): string {
  return `# kubegate bench: nginx as a plain reverse proxy in front of the downstream
daemon off;
master_process on;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream downstream {
    server 127.0.0.1:${downstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/../server.crt;
    ssl_certificate_key ${dir}/../server.key;
    location /k8s/clusters/bench/ {
      proxy_pass https://downstream/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host 127.0.0.1:${downstreamPort};
      proxy_set_header Authorization "Bearer ${DOWNSTREAM_TOKEN}";
      proxy_set_header Impersonate-User "alice";
      proxy_set_header Impersonate-Group "kubegate:authenticated";
      proxy_ssl_trusted_certificate ${dir}/../ca.crt;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_session_reuse on;
    }
  }
}
`;
}

/** Starts nginx (pinned to `core`) in `<workdir>/nginx` and waits until it accepts connections. */
export async function startNginx(work: Workdir, downstreamPort: number, core?: number): Promise<Nginx> {
  const dir = join(work.dir, 'nginx');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = nginxConfig(dir, port, downstreamPort);
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config);
  const child = start('nginx', ['-c', file, '-p', dir, '-e', join(dir, 'error.log')], { core, group: true });
  let output = '';
  child.stderr!.on('data', (c: Buffer) => (output += c));
  child.stdout!.resume();
  const url = `https://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${output}`);
    const ok = await fetchStatus(`${url}/k8s/clusters/bench/api/v1/namespaces/default/configmaps`).catch(() => 0);
    if (ok === 200) break;
    if (i > 100) {
      await stop(child, 'SIGQUIT');
      throw new Error(`nginx did not answer 200 (last ${ok}): ${output} ${readError(dir)}`);
    }
    await sleep(100);
  }
  return { port, url, process: child, config, stop: () => stop(child, 'SIGQUIT') };
}

function readError(dir: string): string {
  try {
    return readFileSync(join(dir, 'error.log'), 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

async function fetchStatus(url: string): Promise<number> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
