/**
 * A cluster the gateway has no route to: the kube-apiserver double and the agent run in a network
 * namespace of their own (`unshare -n`, loopback only), and the only way out is a relay to the
 * gateway's ports (a Unix socket, which network namespaces do not separate). The gateway outside
 * cannot open a connection to the double at all; everything it sends there goes through the
 * agent's tunnel. The same ports are open inside, so the gateway's URL is the same on both sides.
 * Needs root (CI runs as root) and `ip` (iproute2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RecordedRequest } from '../kube-double/index.js';
import type { RunResult } from './run-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('./isolated-cluster-main.ts', import.meta.url));
export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

export interface IsolatedCluster {
  /** The double's URL inside the namespace (unreachable from here). */
  doubleUrl: string;
  doubleCaPem: string;
  /** Where the test keeps files the inside reads (the same file system). */
  dir: string;
  /** Starts `kubegate agent` inside, named `name`, with the agent token and extra flags. */
  startAgent(name: string, options: { gateway: string; agentToken: string; gatewayCaPem?: string; flags?: string[] }): Promise<void>;
  killAgent(name: string, signal?: NodeJS.Signals): Promise<void>;
  agentLog(name: string): Promise<string[]>;
  requests(): Promise<RecordedRequest[]>;
  clearRequests(): Promise<void>;
  activeStreams(): Promise<number>;
  /** Changes the token the double takes as the agent's ServiceAccount (and the file the agent reads). */
  rotateKubeToken(token: string): Promise<void>;
  object(group: string, resource: string, namespace: string, name: string): Promise<any>;
  /** kubectl inside the namespace, as cluster admin against the double. */
  kubectl(args: string[], options?: { env?: Record<string, string>; input?: string }): Promise<RunResult>;
  stop(): Promise<void>;
}

/** Relays a Unix socket to 127.0.0.1:`port` (the gateway, or its balancer). */
function unixRelay(path: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((inside) => {
      const gateway = connect(port, '127.0.0.1');
      for (const s of [inside, gateway]) s.on('error', () => s.destroy());
      inside.pipe(gateway).pipe(inside);
      inside.on('close', () => gateway.destroy());
      gateway.on('close', () => inside.destroy());
    });
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

/** Starts the namespace with the double inside; `gatewayPorts` are reachable from inside. */
export async function startIsolatedCluster(gatewayPorts: number[]): Promise<IsolatedCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-isolated-'));
  const relays: Record<string, string> = {};
  const servers: Server[] = [];
  for (const port of gatewayPorts) {
    relays[port] = join(dir, `gateway-${port}.sock`);
    servers.push(await unixRelay(relays[port], port));
  }
  const setup = JSON.stringify({ dir, relays, bin: join(ROOT, 'bin', 'kubegate'), kubectl: KUBECTL });
  const child: ChildProcess = spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" --import tsx "$@"', process.execPath, MAIN, setup], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let next = 1;
  const ready = new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve: () => resolve(), reject });
    child.once('exit', (code) => reject(new Error(`the isolated cluster exited (${code}) before it was ready (root and iproute2 are needed): ${stderr}`)));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const { id, value, error } = JSON.parse(line) as { id: number; value?: unknown; error?: string };
    const p = pending.get(id);
    pending.delete(id);
    if (error !== undefined) p?.reject(new Error(error));
    else p?.resolve(value);
  });
  child.once('exit', () => {
    for (const p of pending.values()) p.reject(new Error(`the isolated cluster exited: ${stderr}`));
    pending.clear();
  });
  const call = <T>(op: string, args?: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  await ready;
  const info = await call<{ url: string; caPem: string }>('info');

  return {
    doubleUrl: info.url,
    doubleCaPem: info.caPem,
    dir,
    async startAgent(name, o) {
      const tokenFile = join(dir, `${name}.agent-token`);
      await writeFile(tokenFile, o.agentToken, { mode: 0o600 });
      const flags = ['--gateway', o.gateway, '--cluster', 'edge', '--token-file', tokenFile, '--log-level', 'debug', ...(o.flags ?? [])];
      if (o.gatewayCaPem) {
        const caFile = join(dir, `${name}.gateway-ca.crt`);
        await writeFile(caFile, o.gatewayCaPem);
        flags.push('--gateway-ca-file', caFile);
      }
      await call('startAgent', { name, flags });
    },
    killAgent: (name, signal) => call('killAgent', { name, signal }),
    agentLog: (name) => call('agentLog', { name }),
    requests: () => call('requests'),
    clearRequests: () => call('clearRequests'),
    activeStreams: () => call('activeStreams'),
    rotateKubeToken: (token) => call('rotateKubeToken', { token }),
    object: (group, resource, namespace, name) => call('object', { group, resource, namespace, name }),
    kubectl: (args, options = {}) => call('kubectl', { args, ...options }),
    async stop() {
      await call('stop').catch(() => {});
      child.kill('SIGKILL');
      for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
