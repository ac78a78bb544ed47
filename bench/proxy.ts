/**
 * Issue 3's benchmark: small GETs direct to a fast downstream vs through the gateway (warm verdict
 * cache), with wrk on loopback, plus the cost of a verdict-cache hit.
 *
 *   npm run build && node --import tsx bench/proxy.ts [--duration 5] [--rounds 3] [--connections 32]
 *
 * Each process (downstream, gateway, wrk) is pinned to a core with taskset when available.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCa, signLeaf } from '../src/tls/certificates.js';
import { cpuTicks } from './suite/processes.js';
import { CachedTokenAuthenticator } from '../src/auth/verdict-cache.js';
import type { AuthResult } from '../src/auth/identity.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '32' } } });
const duration = Number(values.duration);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const root = new URL('..', import.meta.url).pathname;
const hasTaskset = spawnSync('taskset', ['--version']).status === 0;

function pinned(core: number, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const [c, a] = hasTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
  return spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function waitFor(child: ChildProcess, pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    child[stream]!.on('data', (c) => {
      text += c;
      const m = pattern.exec(text);
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
  });
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  /** CPU time the measured proxy process used per request, µs (when known). */
  cpuUsPerReq?: number;
}


/** Runs wrk and reports how much CPU `proxy` spent per request meanwhile. */
function measured(url: string, token: string, proxy?: ChildProcess): WrkResult {
  const before = cpuTicks(proxy?.pid);
  const r = wrk(url, token);
  const ticks = cpuTicks(proxy?.pid) - before;
  if (proxy) r.cpuUsPerReq = (ticks * 10_000) / (r.rps * duration);
  return r;
}

function wrk(url: string, token: string): WrkResult {
  const script = join(tmpdir(), 'kubegate-bench.lua');
  writeFileSync(script, `wrk.headers["Authorization"] = "Bearer ${token}"\ndone = function(summary, latency, requests)\n  io.write(string.format("RESULT %f %f %f %d\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99), summary.errors.status))\nend\n`);
  const args = ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', '-s', script, url];
  // wrk is left unpinned: with two cores there is no third one to give it.
  const r = process.env.WRK_CORE ? spawnSync('taskset', ['-c', process.env.WRK_CORE, 'wrk', ...args], { encoding: 'utf8' }) : spawnSync('wrk', args, { encoding: 'utf8' });
  const m = /RESULT ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk failed: ${r.stdout} ${r.stderr}`);
  if (Number(m[4]) > 0) throw new Error(`wrk saw ${m[4]} non-2xx answers`);
  return { rps: Number(m[1]), p50: Number(m[2]) / 1000, p99: Number(m[3]) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function cacheHitCost(): Promise<number> {
  const identity: AuthResult = {
    authenticated: true,
    identity: { kind: 'user', userId: 'u-1', username: 'alice', groups: ['dev'], admin: false, token: { id: 't-1', kind: 'api', clusterId: null, expiresAt: null }, clusterRoles: new Map() },
  };
  const cache = new CachedTokenAuthenticator({ authenticate: async () => identity }, { successTtlMs: 3_600_000, failureTtlMs: 2_000, maxEntries: 10_000 });
  const token = 'kgt_t-abcdefghijklmnop.' + 'A'.repeat(43);
  await cache.authenticate(token);
  const n = 200_000;
  for (let i = 0; i < 20_000; i++) await cache.authenticate(token);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await cache.authenticate(token);
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

async function main(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is not installed: apt-get install -y wrk');
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-bench-'));
  const ca = await createCa('bench-downstream-ca');
  const leaf = await signLeaf(ca, { commonName: 'downstream', hosts: ['127.0.0.1', 'localhost'], usage: 'server' });
  writeFileSync(join(dir, 'server.crt'), leaf.certPem);
  writeFileSync(join(dir, 'server.key'), leaf.keyPem);
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);

  const downstream = pinned(0, process.execPath, ['--import', 'tsx', join(root, 'bench/downstream.ts'), '0', dir], { DOWNSTREAM_TOKEN: 'downstream-token' });
  const dport = Number((await waitFor(downstream, /listening (\d+)/))[1]);
  // GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway during the run.
  const nodeArgs = (process.env.GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const gateway = pinned(1, process.execPath, [...nodeArgs, join(root, 'bin/kubegate'), 'serve', '--listen', '127.0.0.1:18643', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--log-level', 'warn', '--audit-log', join(dir, 'audit.log')], {
    KUBEGATE_ADMIN_PASSWORD: 'bench-password',
  });
  gateway.stderr!.resume();
  gateway.stdout!.resume();
  await new Promise((r) => setTimeout(r, 100));
  const gw = 'https://127.0.0.1:18643';
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${gw}/readyz`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const post = async (path: string, token: string | undefined, body: unknown) =>
    (await fetch(`${gw}${path}`, { method: path.includes('members') ? 'PUT' : 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json() as Promise<any>;
  const admin = (await post('/v1/login', undefined, { username: 'admin', password: 'bench-password' })).token;
  await post('/v1/clusters', admin, { id: 'bench', server: `https://127.0.0.1:${dport}`, caData: Buffer.from(ca.certPem).toString('base64'), credential: { token: 'downstream-token' } });
  await post('/v1/users', admin, { username: 'alice', password: 'alice-password' });
  await post('/v1/clusters/bench/members', admin, { principal: 'user:alice', role: 'member' });
  const alice = (await post('/v1/login', undefined, { username: 'alice', password: 'alice-password' })).token;

  const minimal = pinned(1, process.execPath, ['--import', 'tsx', join(root, 'bench/minimal-proxy.ts'), '0', String(dport), dir, 'downstream-token']);
  const mport = Number((await waitFor(minimal, /listening (\d+)/))[1]);

  const direct: WrkResult[] = [];
  const viaMinimal: WrkResult[] = [];
  const viaGateway: WrkResult[] = [];
  wrk(`${gw}/k8s/clusters/bench/api/v1/configmaps`, alice); // warm-up
  wrk(`https://127.0.0.1:${mport}/k8s/clusters/bench/api/v1/configmaps`, alice);
  for (let i = 0; i < rounds; i++) {
    direct.push(wrk(`https://127.0.0.1:${dport}/api/v1/configmaps`, 'downstream-token'));
    viaMinimal.push(measured(`https://127.0.0.1:${mport}/k8s/clusters/bench/api/v1/configmaps`, alice, minimal));
    viaGateway.push(measured(`${gw}/k8s/clusters/bench/api/v1/configmaps`, alice, gateway));
  }
  minimal.kill();
  downstream.kill();
  gateway.kill('SIGINT');
  await new Promise((r) => gateway.once('exit', r));

  const hit = await cacheHitCost();
  const d = { rps: median(direct.map((r) => r.rps)), p50: median(direct.map((r) => r.p50)), p99: median(direct.map((r) => r.p99)) };
  const m = { rps: median(viaMinimal.map((r) => r.rps)), p50: median(viaMinimal.map((r) => r.p50)), p99: median(viaMinimal.map((r) => r.p99)) };
  const g = { rps: median(viaGateway.map((r) => r.rps)), p50: median(viaGateway.map((r) => r.p50)), p99: median(viaGateway.map((r) => r.p99)) };
  const spread = (xs: WrkResult[]) => `${Math.round(Math.min(...xs.map((r) => r.rps)))}–${Math.round(Math.max(...xs.map((r) => r.rps)))}`;
  console.log(`\nsmall GETs, wrk -t1 -c${connections} -d${duration}s, ${rounds} interleaved rounds, TLS on both hops (median; spread of req/s)`);
  console.log(`| path | req/s | spread | p50 ms | p99 ms |`);
  console.log(`|---|---|---|---|---|`);
  console.log(`| direct to downstream | ${Math.round(d.rps)} | ${spread(direct)} | ${d.p50.toFixed(2)} | ${d.p99.toFixed(2)} |`);
  console.log(`| minimal Node proxy (undici, no auth/audit/metrics) | ${Math.round(m.rps)} | ${spread(viaMinimal)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} |`);
  console.log(`| through kubegate (warm cache) | ${Math.round(g.rps)} | ${spread(viaGateway)} | ${g.p50.toFixed(2)} | ${g.p99.toFixed(2)} |`);
  const cpu = (xs: WrkResult[]) => median(xs.map((r) => r.cpuUsPerReq ?? 0)).toFixed(0);
  console.log(`\nproxy CPU per request: minimal ${cpu(viaMinimal)} µs, kubegate ${cpu(viaGateway)} µs`);
  console.log(`gateway / direct throughput: ${(g.rps / d.rps).toFixed(2)}× (target ≥ 0.6×); gateway / minimal Node proxy: ${(g.rps / m.rps).toFixed(2)}×`);
  console.log(`verdict-cache hit: ${hit.toFixed(2)} µs (target ≤ 5 µs)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
