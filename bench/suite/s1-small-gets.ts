/**
 * Scenario 1: small GETs over keep-alive at 1, 16 and 64 connections — the downstream directly,
 * through nginx, through the Go peer (httputil.ReverseProxy, when Go is installed) and through the
 * gateway with a warm verdict cache (wrk, interleaved rounds); then the latency each adds at a
 * constant half of the gateway's peak rate (open-loop generator).
 */
import { spawnSync } from 'node:child_process';
import { GATEWAY_LIST_PATH, LIST_PATH, DOWNSTREAM_TOKEN, makeWorkdir, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { startGoPeer } from './go-peer.js';
import { startNginx } from './nginx.js';
import { startTs, stop, waitForLine } from './processes.js';
import { load } from './tools.js';
import { times, type Scenario, type ScenarioContext, type TargetRow } from './results.js';
import { fmt, fmtSpread, median, spread, type Spread } from './stats.js';
import { runWrk, type WrkResult } from './wrk.js';

export const CONNECTIONS = [1, 16, 64] as const;
/**
 * `minimal`: bench/minimal-proxy.ts, the floor for a Node proxy (undici, header work, nothing else).
 * `go`: bench/go-peer, the data path of the Go proxies users would otherwise run (skipped without Go).
 */
const PATHS = ['direct', 'nginx', 'go', 'minimal', 'gateway'] as const;
type PathName = (typeof PATHS)[number];
/** The paths the issue asks to plot. */
const PLOTTED = ['direct', 'nginx', 'gateway'] as const;

export interface RateResult {
  rate: number;
  achievedRate: number;
  measured: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  maxDispatchLagMs: number;
  /** Episodes of requests slower than 10 ms: when (ms into the measured part), how many, the worst. */
  stalls: Array<{ atMs: number; requests: number; worstMs: number }>;
  measuredFromEpochMs: number;
}

/**
 * Seconds the generator sends at the rate before it measures. A freshly started generator opening
 * its 16 connections to a proxy that has been idle for the other paths' rounds brings a backlog of
 * up to a few hundred ms that a 1 s warm-up carried into the measurement (bench/notes.md).
 */
const RATE_WARMUP_SECONDS = 3;

/** Runs the constant-rate generator once (its own process, unpinned like wrk). */
export async function rateLoad(options: { url: string; token: string; rate: number; seconds: number; connections: number }): Promise<RateResult> {
  const child = startTs('bench/suite/rate-load.ts', [JSON.stringify({ ...options, warmupSeconds: RATE_WARMUP_SECONDS })]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (err += c));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`rate-load failed (${code}): ${out}${err}`);
  const result = JSON.parse(line) as RateResult;
  if (result.errors > 0) throw new Error(`rate-load saw ${result.errors} failed requests on ${options.url}`);
  return result;
}

/** Median number of slow episodes per round, and the worst request in any of them. */
function episodes(rounds: RateResult[]): string {
  const count = median(rounds.map((x) => x.stalls.length));
  const worst = Math.max(0, ...rounds.flatMap((x) => x.stalls.map((st) => st.worstMs)));
  return count === 0 && worst === 0 ? '0' : `${count} (worst ${fmt(worst)} ms)`;
}

const signed = (x: number): string => (x < 0 ? `−${fmt(-x)}` : `+${fmt(x)}`);

function nginxWorker(masterPid: number | undefined): number | undefined {
  const r = spawnSync('pgrep', ['-P', String(masterPid)], { encoding: 'utf8' });
  const pid = Number(r.stdout.trim().split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

export const smallGets: Scenario = {
  id: 1,
  title: 'Small GETs, keep-alive: direct, nginx, gateway',
  async run(ctx: ScenarioContext) {
    const seconds = ctx.quick ? 1 : 3;
    const rounds = ctx.quick ? 1 : 5;
    const rateSeconds = ctx.quick ? 2 : 4;
    const rateRounds = ctx.quick ? 1 : 5;
    const work = await makeWorkdir();
    const downstream = await startDownstream(work, { core: 0 });
    let gateway: GatewayProcess | undefined;
    const nginx = await startNginx(work, downstream.port, 1);
    const minimal = startTs('bench/minimal-proxy.ts', ['0', String(downstream.port), work.dir, DOWNSTREAM_TOKEN], { core: 1 });
    const go = await startGoPeer(work.dir, downstream.port, DOWNSTREAM_TOKEN, { core: 1 });
    const paths = PATHS.filter((p) => p !== 'go' || !('skipped' in go));
    try {
      if ('skipped' in go) ctx.log(`  s1: the Go peer is skipped: ${go.skipped}`);
      minimal.stderr!.resume();
      const minimalPort = Number((await waitForLine(minimal, /listening (\d+)/))[1]);
      gateway = await startGateway(work, { core: 1, nodeArgs: ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`] : [] });
      const { alice } = await setUpCluster(gateway, downstream, work);
      const worker = nginxWorker(nginx.process.pid);
      const target = {
        direct: { url: `${downstream.url}${LIST_PATH}`, token: DOWNSTREAM_TOKEN, pid: undefined as number | undefined },
        nginx: { url: `${nginx.url}${GATEWAY_LIST_PATH}`, token: alice, pid: worker },
        minimal: { url: `https://127.0.0.1:${minimalPort}${GATEWAY_LIST_PATH}`, token: alice, pid: minimal.pid },
        go: 'skipped' in go ? { url: '', token: '', pid: undefined } : { url: `https://127.0.0.1:${go.port}${GATEWAY_LIST_PATH}`, token: alice, pid: go.process.pid },
        gateway: { url: `${gateway.url}${GATEWAY_LIST_PATH}`, token: alice, pid: gateway.process.pid },
      };
      // Warm-up: JIT, connection pools, the verdict cache.
      for (const p of paths) runWrk({ url: target[p].url, token: target[p].token, connections: 16, seconds: 1 });

      const runs: Record<PathName, Record<number, WrkResult[]>> = { direct: {}, nginx: {}, go: {}, minimal: {}, gateway: {} };
      for (let r = 0; r < rounds; r++) {
        for (const c of CONNECTIONS) {
          // Rotate the order every round so no path always runs right after another.
          const order = paths.map((_, i) => paths[(i + r) % paths.length]!);
          for (const p of order) {
            const result = runWrk({ url: target[p].url, token: target[p].token, connections: c, seconds, measurePid: target[p].pid });
            (runs[p][c] ??= []).push(result);
            ctx.log(`  s1 round ${r + 1}/${rounds} c=${c} ${p}: ${Math.round(result.rps)} req/s p99 ${result.p99.toFixed(2)} ms`);
          }
        }
      }
      const rps = (p: PathName, c: number): Spread => spread(runs[p][c]!.map((x) => x.rps));
      const med = (p: PathName, c: number, f: (x: WrkResult) => number | undefined) => median(runs[p][c]!.map((x) => f(x) ?? NaN));

      // Half the gateway's peak, at 16 connections, open loop.
      const peak = Math.max(...CONNECTIONS.map((c) => rps('gateway', c).median));
      const rate = Math.max(100, Math.round(peak / 2 / 100) * 100);
      const paced: Record<PathName, Awaited<ReturnType<typeof rateLoad>>[]> = { direct: [], nginx: [], go: [], minimal: [], gateway: [] };
      const pacedLoad: number[] = [];
      for (let r = 0; r < rateRounds; r++) {
        for (const p of paths) {
          const result = await rateLoad({ url: target[p].url, token: target[p].token, rate, seconds: rateSeconds, connections: 16 });
          paced[p].push(result);
          pacedLoad.push(load()[0]);
          ctx.log(`  s1 paced ${rate}/s round ${r + 1}/${rateRounds} ${p}: p50 ${result.p50.toFixed(2)} ms p99 ${result.p99.toFixed(2)} ms (achieved ${Math.round(result.achievedRate)}/s)`);
        }
      }
      const addedP99 = median(paced.gateway.map((g, i) => g.p99 - paced.direct[i]!.p99));
      const added = (p: PathName) => median(paced[p].map((g, i) => g.p99 - paced.direct[i]!.p99));
      const pacedMed = (p: PathName, k: 'p50' | 'p99' | 'p999' | 'achievedRate') => median(paced[p].map((x) => x[k]));

      const rows: TargetRow[] = [];
      for (const c of CONNECTIONS) {
        const g = rps('gateway', c);
        const n = rps('nginx', c);
        const d = rps('direct', c);
        rows.push({ metric: `req/s, ${c} conn.`, baselineLabel: 'nginx', baseline: fmt(n.median), gateway: fmt(g.median), ratio: times(g.median / n.median), target: '≥ 0.8× nginx', met: g.median / n.median >= 0.8 });
        rows.push({ metric: `req/s, ${c} conn.`, baselineLabel: 'direct', baseline: fmt(d.median), gateway: fmt(g.median), ratio: times(g.median / d.median), target: '≥ 0.6× direct', met: g.median / d.median >= 0.6 });
      }
      if (!('skipped' in go)) {
        for (const c of CONNECTIONS) {
          const g = rps('gateway', c).median;
          const o = rps('go', c).median;
          const target = c === 1 ? 'reported' : '≥ 1.0× the Go peer (aim 1.2×)';
          rows.push({ metric: `req/s, ${c} conn.`, baselineLabel: 'Go peer', baseline: fmt(o), gateway: fmt(g), ratio: times(g / o), target, met: c === 1 ? null : g / o >= 1 });
        }
      }
      for (const c of CONNECTIONS) {
        const g = rps('gateway', c).median;
        const m = rps('minimal', c).median;
        rows.push({ metric: `req/s, ${c} conn.`, baselineLabel: 'minimal Node proxy', baseline: fmt(m), gateway: fmt(g), ratio: times(g / m), target: 'reported (the Node floor)', met: null });
      }
      rows.push({
        metric: `p99 at ${fmt(rate)} req/s (½ gateway peak), 16 conn.`,
        baselineLabel: 'direct',
        baseline: `${fmt(pacedMed('direct', 'p99'))} ms`,
        gateway: `${fmt(pacedMed('gateway', 'p99'))} ms`,
        ratio: `${signed(addedP99)} ms`,
        target: '≤ 1 ms added',
        met: addedP99 <= 1,
      });

      const table = {
        title: `wrk -t1 -d${seconds}s, ${rounds} interleaved rounds; median (min–max) req/s, median p50/p99; proxy CPU per request`,
        columns: ['conn.', 'path', 'req/s', 'p50 ms', 'p99 ms', 'proxy CPU µs/req'],
        rows: CONNECTIONS.flatMap((c) =>
          paths.map((p) => [String(c), p, fmtSpread(rps(p, c)), fmt(med(p, c, (x) => x.p50)), fmt(med(p, c, (x) => x.p99)), p === 'direct' ? '—' : fmt(med(p, c, (x) => x.cpuUsPerReq), 3)]),
        ),
      };
      const pacedTable = {
        title: `constant ${fmt(rate)} req/s (half the gateway's peak of ${fmt(peak)}), 16 connections, ${rateSeconds} s × ${rateRounds} rounds; latency from the scheduled send time`,
        columns: ['path', 'achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'added p99 vs direct', 'episodes > 10 ms per round (worst)'],
        rows: paths.map((p) => [
          p,
          fmt(pacedMed(p, 'achievedRate')),
          fmt(pacedMed(p, 'p50')),
          fmtSpread(spread(paced[p].map((x) => x.p99))),
          fmt(pacedMed(p, 'p999')),
          p === 'direct' ? '—' : `${signed(added(p))} ms`,
          episodes(paced[p]),
        ]),
      };
      return {
        method: [
          `The fast downstream (bench/downstream.ts: HTTPS, checks a bearer, answers a 1.4 KB ConfigMapList) pinned to core 0; nginx (${'`worker_processes 1`'}, ${'`proxy_pass`'} over TLS with ${'`keepalive 64`'}, the same header work with ${'`proxy_set_header`'}) and the gateway (${'`bin/kubegate serve`'}, SQLite, audit log to a file) pinned to core 1; wrk unpinned (there is no third core). TLS on both hops everywhere. The Go peer (bench/go-peer: the standard library's httputil.ReverseProxy with the same header work and no token lookup, GOMAXPROCS=1, built with ${'`' + ('skipped' in go ? 'no Go' : go.version) + '`'}) on core 1, as the data path of the Go proxies (Rancher's, kube-oidc-proxy, Pinniped). A last path, not a target, shows the floor of a Node proxy: bench/minimal-proxy.ts (core 1), an HTTPS server forwarding through an undici Pool with the same header work and nothing else — no authentication, audit or metrics.`,
          `Throughput: ${'`wrk -t1 -c{1,16,64} -d' + seconds + 's --latency`'}, ${rounds} rounds, the order of the paths rotated every round; figures are medians with the min–max of the rounds. Proxy CPU per request is the utime+stime of the nginx worker / minimal proxy / gateway process over the run divided by requests.`,
          `Added latency: an open-loop generator (bench/suite/rate-load.ts, Node + undici, 16 keep-alive connections; wrk2 is not packaged) sends at a constant half of the gateway's peak req/s (after ${RATE_WARMUP_SECONDS} s at that rate unmeasured) and measures each request from its scheduled send time, so stalls are not hidden (no coordinated omission). Added p99 = median over rounds of (gateway p99 − direct p99) measured back to back. An episode is a run of requests slower than 10 ms (slow requests due less than 50 ms apart).`,
        ],
        rows,
        details: [table, pacedTable],
        notes: [],
        data: {
          connections: CONNECTIONS,
          rps: Object.fromEntries(PLOTTED.map((p) => [p, CONNECTIONS.map((c) => rps(p, c))])),
          minimalRps: CONNECTIONS.map((c) => rps('minimal', c)),
          goPeer: 'skipped' in go ? { skipped: go.skipped } : { version: go.version, rps: CONNECTIONS.map((c) => rps('go', c)) },
          runs,
          rate,
          peak,
          paced,
          pacedLoad1m: pacedLoad,
          addedP99,
          addedP99Nginx: added('nginx'),
          addedP99Minimal: added('minimal'),
          nginxConfig: nginx.config,
        },
      };
    } finally {
      await gateway?.stop();
      await stop(minimal);
      if (!('skipped' in go)) await stop(go.process);
      await nginx.stop();
      await stop(downstream.process);
      work.remove();
    }
  },
};
