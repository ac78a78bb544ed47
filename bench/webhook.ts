/**
 * Issue 5's benchmark: TokenReviews per second and p99 latency of the built `kubegate webhook`,
 * serving a state file of `--tokens` tokens, loaded with wrk over keep-alive connections; plus the
 * in-process cost of one review (parse + lookup + hash + answer).
 *
 *   npm run build && node --import tsx bench/webhook.ts [--tokens 10000] [--connections 4] [--duration 5] [--rounds 3] [--pin] [--against DIR]
 *
 * Needs wrk (`apt-get install -y wrk`). Each round also loads a bare `node:http` server that answers
 * a constant, with the same wrk settings: the ceiling of Node's HTTP on this machine, so the figures
 * can be read on a shared or noisy host. `--pin` pins the server to core 0 and wrk to core 1 with
 * taskset. The gateway URL is unreachable on purpose: the webhook serves from the state file and
 * retries in the background, as it would with the gateway down.
 *
 * `--against DIR` also runs the `kubegate webhook` built in another checkout (e.g. `main`, to judge a
 * change) in the same interleaved rounds: on a shared host a before/after taken minutes apart
 * measures the neighbours as much as the change.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { issueToken } from '../src/auth/tokens.js';
import type { SyncedToken, SyncedUser } from '../src/sync/protocol.js';
import { cpuTicks } from './suite/processes.js';
import { AuthnCopy } from '../src/webhook/authn-copy.js';
import { writeState } from '../src/webhook/state-file.js';
import { parseTokenReview, tokenReviewResponse } from '../src/webhook/token-review.js';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '4' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    pin: { type: 'boolean', default: false },
    against: { type: 'string' },
  },
});
const tokenCount = Number(values.tokens);
const connections = Number(values.connections);
const duration = Number(values.duration);
const rounds = Number(values.rounds);
const root = new URL('..', import.meta.url).pathname;
const hasTaskset = Boolean(values.pin) && spawnSync('taskset', ['--version']).status === 0 && cpus().length >= 2;

// The baseline: Node's HTTP server doing nothing but read the body and answer a constant.
const BASELINE = `require('node:http').createServer((req, res) => { req.on('data', () => {}); req.on('end', () => {
  const b = '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","status":{"authenticated":false}}';
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': b.length }); res.end(b); }); })
  .listen(Number(process.argv[1]), '127.0.0.1', () => console.log('listening'));`;

function pinned(core: number, cmd: string, args: string[], output: 'pipe' | number = 'pipe'): ChildProcess {
  const [c, a] = hasTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
  return spawn(c, a, { stdio: ['ignore', output, output] });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('webhook did not become healthy');
}

/** A copy of `n` tokens over n/10 users, and a sample of their bearer strings. */
function fixture(n: number): { tokens: SyncedToken[]; users: SyncedUser[]; bearer: string[] } {
  const users: SyncedUser[] = [];
  for (let i = 0; i < Math.max(1, n / 10); i++) users.push({ id: `u-user${i}`, username: `user${i}`, groups: ['dev', 'ops'], enabled: true, member: true });
  const tokens: SyncedToken[] = [];
  const bearer: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = issueToken();
    tokens.push({ id: t.id, kind: 'kubeconfig', userId: users[i % users.length]!.id, secretHash: t.secretHash, expiresAt: null });
    if (bearer.length < 1000) bearer.push(t.token);
  }
  return { tokens, users, bearer };
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  /** The server's CPU (user + system) per request: steadier than rps when neighbours share the core. */
  cpuUs: number;
}

function runWrk(url: string, bodiesFile: string, serverPid: number | undefined): WrkResult {
  const script = join(tmpdir(), 'kubegate-webhook-bench.lua');
  // Cycles through real review bodies so every request costs a lookup and a hash.
  writeFileSync(
    script,
    `local bodies = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %f %f %f %d %d\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99), summary.errors.status, summary.requests))
end
`,
  );
  const wrkArgs = ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', '-s', script, `${url}/v1/authenticate`, '--', bodiesFile];
  const ticksBefore = cpuTicks(serverPid);
  const r = hasTaskset ? spawnSync('taskset', ['-c', '1', 'wrk', ...wrkArgs], { encoding: 'utf8' }) : spawnSync('wrk', wrkArgs, { encoding: 'utf8' });
  const ticks = cpuTicks(serverPid) - ticksBefore;
  const m = /RESULT ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk failed: ${r.stdout} ${r.stderr}`);
  if (Number(m[4]) > 0) throw new Error(`wrk saw ${m[4]} non-2xx answers`);
  // Clock ticks are 10 ms (100 per second on Linux).
  return { rps: Number(m[1]), p50: Number(m[2]) / 1000, p99: Number(m[3]) / 1000, cpuUs: (ticks * 10_000) / Number(m[5]) };
}

/** Microseconds per review in-process: what one request costs before any HTTP. */
function inProcess(copy: AuthnCopy, bodies: string[]): number {
  const n = 200_000;
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const review = parseTokenReview(bodies[i % bodies.length]!);
    sink += tokenReviewResponse(review.apiVersion, copy.review(review.token)).length;
  }
  const us = Number(process.hrtime.bigint() - started) / 1000 / n;
  if (sink === 0) throw new Error('unreachable');
  return us;
}

async function main(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk not found: apt-get install -y wrk');
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-webhook-bench-'));
  let webhook: ChildProcess | undefined;
  let against: ChildProcess | undefined;
  let baseline: ChildProcess | undefined;
  try {
    const { tokens, users, bearer } = fixture(tokenCount);
    await writeState(dir, { clusterId: 'bench', gateway: 'http://127.0.0.1:9', syncedAt: new Date(), snapshot: { epoch: 'bench', revision: 1, tokens, users } });
    const bodies = bearer.map((token, i) => JSON.stringify({ apiVersion: i % 2 ? 'authentication.k8s.io/v1' : 'authentication.k8s.io/v1beta1', kind: 'TokenReview', spec: { token, audiences: ['https://kubernetes.default.svc.cluster.local'] } }));
    const bodiesFile = join(dir, 'bodies.txt');
    writeFileSync(bodiesFile, bodies.join('\n') + '\n');
    writeFileSync(join(dir, 'agent'), issueToken().token);

    const copy = new AuthnCopy('bench');
    copy.restore({ epoch: 'bench', revision: 1, tokens, users });
    const check = copy.review(bearer[0]!);
    if (!check.authenticated) throw new Error('fixture token refused');
    const perReview = inProcess(copy, bodies);

    const startWebhook = async (checkout: string): Promise<{ child: ChildProcess; url: string }> => {
      const port = await freePort();
      // WEBHOOK_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof --trace-gc" profiles the webhook during the run.
      const nodeArgs = (process.env.WEBHOOK_NODE_ARGS ?? '').split(' ').filter(Boolean);
      // Output to a file, not a pipe: wrk runs with spawnSync, so nothing would read a pipe during a
      // round, and once its 64 KiB filled the webhook's writes (errors, --trace-gc) would be lost or block.
      const logFile = join(tmpdir(), `kubegate-webhook-bench.${port}.log`);
      const output = openSync(logFile, 'w');
      const child = pinned(0, process.execPath, [...nodeArgs, join(checkout, 'bin/kubegate'), 'webhook', '--gateway=http://127.0.0.1:9', '--cluster=bench', `--agent-token-file=${join(dir, 'agent')}`, `--state-dir=${dir}`, `--listen=127.0.0.1:${port}`, '--log-level=error'], output);
      closeSync(output);
      process.stderr.write(`webhook ${checkout}: output in ${logFile}\n`);
      const url = `http://127.0.0.1:${port}`;
      await waitHealthy(url);
      return { child, url };
    };
    let url: string;
    ({ child: webhook, url } = await startWebhook(root));
    let againstUrl: string | undefined;
    if (values.against) ({ child: against, url: againstUrl } = await startWebhook(values.against));
    const basePort = await freePort();
    baseline = pinned(0, process.execPath, ['-e', BASELINE, String(basePort)]);
    const baseUrl = `http://127.0.0.1:${basePort}`;
    await waitHealthy(baseUrl);
    runWrk(url, bodiesFile, webhook.pid); // warm-up
    runWrk(baseUrl, bodiesFile, baseline.pid);
    if (againstUrl) runWrk(againstUrl, bodiesFile, against?.pid);
    const results: WrkResult[] = [];
    const baselines: WrkResult[] = [];
    const againsts: WrkResult[] = [];
    for (let r = 0; r < rounds; r++) {
      // The two webhooks take turns going first, so neither always follows the bare server.
      if (againstUrl && r % 2 === 1) againsts.push(runWrk(againstUrl, bodiesFile, against?.pid));
      results.push(runWrk(url, bodiesFile, webhook.pid));
      baselines.push(runWrk(baseUrl, bodiesFile, baseline.pid));
      if (againstUrl && r % 2 === 0) againsts.push(runWrk(againstUrl, bodiesFile, against?.pid));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const line = (r: WrkResult) => `${Math.round(r.rps)} reviews/s, p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, cpu ${r.cpuUs.toFixed(1)} µs/review`;

    console.log(`kubegate webhook: ${tokenCount} tokens, wrk -t1 -c${connections} -d${duration}s, ${rounds} rounds, ${hasTaskset ? 'pinned' : 'unpinned'}`);
    for (let i = 0; i < rounds; i++) {
      console.log(`  round ${i + 1}: webhook ${line(results[i]!)} | bare node:http ${line(baselines[i]!)}${againstUrl ? ` | against ${line(againsts[i]!)}` : ''}`);
    }
    const summary = (xs: WrkResult[]) =>
      `${Math.round(median(xs.map((r) => r.rps)))} reviews/s, p50 ${median(xs.map((r) => r.p50)).toFixed(3)} ms, p99 ${median(xs.map((r) => r.p99)).toFixed(3)} ms, cpu ${median(xs.map((r) => r.cpuUs)).toFixed(1)} µs/review`;
    console.log(`  median webhook:        ${summary(results)}`);
    console.log(`  median bare node:http: ${summary(baselines)}`);
    if (againstUrl) console.log(`  median against:        ${summary(againsts)} (${values.against})`);
    console.log(`  in-process: ${perReview.toFixed(2)} µs per review (parse + lookup + SHA-256 + answer)`);
  } finally {
    webhook?.kill('SIGTERM');
    against?.kill('SIGTERM');
    baseline?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
