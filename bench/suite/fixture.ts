/**
 * What every scenario stands on: a temp dir with the downstream's certificates, the fast
 * downstream (bench/downstream.ts), the built gateway (`bin/kubegate serve`) on SQLite or
 * PostgreSQL, and the management calls that register the downstream as cluster `bench` with user
 * alice as a member.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, signLeaf } from '../../src/tls/certificates.js';
import { ROOT, sleep, start, startTs, stop, waitForLine, type StartOptions } from './processes.js';

export const DOWNSTREAM_TOKEN = 'downstream-token';
export const ADMIN_PASSWORD = 'bench-admin-password';
export const ALICE_PASSWORD = 'alice-bench-password';
export const CLUSTER = 'bench';
/** The list path every small GET asks for, as the downstream sees it and through the gateway. */
export const LIST_PATH = '/api/v1/namespaces/default/configmaps';
export const GATEWAY_LIST_PATH = `/k8s/clusters/${CLUSTER}${LIST_PATH}`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A temp dir holding the downstream's CA, certificate and key (server.crt/server.key/ca.crt). */
export interface Workdir {
  dir: string;
  caPem: string;
  remove(): void;
}

/** Workdirs not yet removed: an interrupted run removes them on exit. */
const workdirs = new Set<string>();
process.once('exit', () => {
  for (const dir of workdirs) rmSync(dir, { recursive: true, force: true });
});

export async function makeWorkdir(): Promise<Workdir> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-bench-'));
  workdirs.add(dir);
  const ca = await createCa('bench-downstream-ca');
  const leaf = await signLeaf(ca, { commonName: 'downstream', hosts: ['127.0.0.1', 'localhost'], usage: 'server' });
  writeFileSync(join(dir, 'server.crt'), leaf.certPem);
  writeFileSync(join(dir, 'server.key'), leaf.keyPem);
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  return {
    dir,
    caPem: ca.certPem,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
      workdirs.delete(dir);
    },
  };
}

export interface Downstream {
  port: number;
  url: string;
  process: ChildProcess;
}

export async function startDownstream(work: Workdir, options: StartOptions = {}): Promise<Downstream> {
  const child = startTs('bench/downstream.ts', ['0', work.dir], { ...options, env: { DOWNSTREAM_TOKEN, ...options.env } });
  child.stderr!.resume();
  const port = Number((await waitForLine(child, /listening (\d+)/))[1]);
  return { port, url: `https://127.0.0.1:${port}`, process: child };
}

export interface ApiAnswer {
  status: number;
  json: any;
}

/** A running `kubegate serve`, with a keep-alive agent that trusts its CA. */
export interface GatewayProcess {
  port: number;
  url: string;
  caPem: string;
  certsDir: string;
  process: ChildProcess;
  agent: Agent;
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<ApiAnswer>;
  /** Prometheus text of /metrics. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export interface GatewayOptions extends StartOptions {
  /** PostgreSQL URL; SQLite in the workdir without one. */
  databaseUrl?: string;
  /** A subdirectory of the workdir for this gateway's data and certificates. */
  name?: string;
  /** Another gateway's certs dir to serve the same certificate. */
  certsDir?: string;
  extraFlags?: string[];
  /** Node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Another checkout (built) whose gateway to run instead of this one's, for before/after runs. */
  checkout?: string;
}

/** Calls a gateway with node:https (keep-alive agent), JSON in and out. */
function caller(url: string, agent: Agent) {
  return (method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<ApiAnswer> =>
    new Promise((resolve, reject) => {
      const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
      const req = request(`${url}${path}`, {
        method,
        agent,
        headers: {
          ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = text;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      });
      req.end(payload);
    });
}

/** Starts the built gateway CLI and waits for /readyz (started: the first administrator exists). */
export async function startGateway(work: Workdir, options: GatewayOptions = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const base = join(work.dir, options.name ?? 'gateway');
  const certsDir = options.certsDir ?? join(base, 'certs');
  const flags = [
    '--listen', `127.0.0.1:${port}`,
    '--public-url', `https://localhost:${port}`,
    '--data-dir', join(base, 'data'),
    '--certs-dir', certsDir,
    '--log-level', 'warn',
    '--audit-log', join(base, 'audit.log'),
    '--shutdown-grace', '0s',
    '--shutdown-timeout', '2s',
    ...(options.databaseUrl ? ['--database-url', options.databaseUrl] : []),
    ...(options.extraFlags ?? []),
  ];
  const child = start(process.execPath, [...(options.nodeArgs ?? []), join(options.checkout ?? ROOT, 'bin/kubegate'), 'serve', ...flags], {
    ...options,
    // KUBEGATE_METRICS_OPEN: /metrics is read without a credential; KUBEGATE_ENCRYPTION_KEY_FILE: the
    // gateways of one run (replicas on one database) share a key. Environment variables, which older checkouts ignore.
    env: { KUBEGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, KUBEGATE_METRICS_OPEN: 'true', KUBEGATE_ENCRYPTION_KEY_FILE: join(work.dir, 'encryption.key'), ...options.env },
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 10_000) stderr += c;
  });
  child.stdout!.resume();
  const url = `https://127.0.0.1:${port}`;
  let caPem = '';
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}): ${stderr}`);
    try {
      caPem = readFileSync(join(certsDir, 'ca.crt'), 'utf8');
      const probe = new Agent({ ca: caPem });
      const ok = await caller(url, probe)('GET', '/readyz').then((a) => a.status === 200, () => false);
      probe.destroy();
      if (ok) break;
    } catch {
      // certificates not written yet
    }
    if (i > 300) throw new Error(`the gateway did not become healthy: ${stderr}`);
    await sleep(100);
  }
  const agent = new Agent({ ca: caPem, keepAlive: true, maxSockets: 256 });
  const call = caller(url, agent);
  return {
    port,
    url,
    caPem,
    certsDir,
    process: child,
    agent,
    call,
    async metrics() {
      const a = await call('GET', '/metrics');
      return String(a.json);
    },
    async stop() {
      agent.destroy();
      await stop(child, 'SIGTERM', 8_000);
    },
  };
}

/** Throws unless the answer has the expected status. */
export function expectStatus(answer: ApiAnswer, status: number, what: string): ApiAnswer {
  if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.json)}`);
  return answer;
}

export interface BenchCluster {
  /** Admin session token. */
  admin: string;
  /** Alice's session token (a member of cluster `bench`). */
  alice: string;
}

/** Registers the downstream as cluster `bench` (skipped when `register` is false: another replica did it), and alice. */
export async function setUpCluster(gw: GatewayProcess, downstream: Downstream, work: Workdir, register = true): Promise<BenchCluster> {
  const login = async (username: string, password: string): Promise<string> =>
    expectStatus(await gw.call('POST', '/v1/login', { body: { username, password } }), 201, `login ${username}`).json.token as string;
  const admin = await login('admin', ADMIN_PASSWORD);
  if (register) {
    expectStatus(
      await gw.call('POST', '/v1/clusters', {
        token: admin,
        body: { id: CLUSTER, server: downstream.url, caData: Buffer.from(work.caPem).toString('base64'), credential: { token: DOWNSTREAM_TOKEN } },
      }),
      201,
      'register cluster',
    );
    expectStatus(await gw.call('POST', '/v1/users', { token: admin, body: { username: 'alice', password: ALICE_PASSWORD } }), 201, 'create alice');
    const member = await gw.call('PUT', `/v1/clusters/${CLUSTER}/members`, { token: admin, body: { principal: 'user:alice', role: 'member' } });
    if (member.status >= 300) throw new Error(`add member: HTTP ${member.status}`);
  }
  const alice = await login('alice', ALICE_PASSWORD);
  return { admin, alice };
}

/** Creates `n` API tokens for the owner of `session` (a few calls in flight). */
export async function createTokens(gw: GatewayProcess, session: string, n: number): Promise<Array<{ token: string; tokenId: string }>> {
  const out: Array<{ token: string; tokenId: string }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        next++;
        const a = expectStatus(await gw.call('POST', '/v1/tokens', { token: session, body: { description: 'bench' } }), 201, 'create token');
        out.push({ token: a.json.token as string, tokenId: a.json.tokenId as string });
      }
    }),
  );
  return out;
}

/** Sums a Prometheus sample (all label sets) from /metrics text; 0 when absent. */
export function metricValue(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
