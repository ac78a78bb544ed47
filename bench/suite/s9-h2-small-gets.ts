/**
 * Scenario 9 (issue 19): small GETs over HTTP/2 — the downstream directly (h2, as kube-apiserver
 * offers it), the Go peer over h2 (Go's server negotiates h2 by ALPN; skipped without Go) and the
 * gateway over h2 — with h2load, interleaved rounds.
 */
import { GATEWAY_LIST_PATH, LIST_PATH, DOWNSTREAM_TOKEN, makeWorkdir, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { startGoPeer } from './go-peer.js';
import { stop } from './processes.js';
import { times, type Scenario, type ScenarioContext, type TargetRow } from './results.js';
import { fmt, fmtSpread, median, spread, type Spread } from './stats.js';
import { runH2load, type H2loadResult } from './h2load.js';

/** Client connections; each keeps STREAMS requests in flight (client-go multiplexes its informers' and callers' requests). */
export const H2_CONNECTIONS = [16, 32] as const;
const STREAMS = 4;
const PATHS = ['direct', 'go', 'gateway'] as const;
type PathName = (typeof PATHS)[number];

export const h2SmallGets: Scenario = {
  id: 9,
  title: 'Small GETs over HTTP/2: direct, the Go peer, gateway',
  async run(ctx: ScenarioContext) {
    const seconds = ctx.quick ? 1 : 3;
    const rounds = ctx.quick ? 1 : 5;
    const work = await makeWorkdir();
    const downstream = await startDownstream(work, { core: 0, env: { DOWNSTREAM_HTTP2: '1' } });
    let gateway: GatewayProcess | undefined;
    const go = await startGoPeer(work.dir, downstream.port, DOWNSTREAM_TOKEN, { core: 1 });
    const paths = PATHS.filter((p) => p !== 'go' || !('skipped' in go));
    try {
      if ('skipped' in go) ctx.log(`  s9: the Go peer is skipped: ${go.skipped}`);
      gateway = await startGateway(work, { core: 1, nodeArgs: ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`] : [] });
      const { alice } = await setUpCluster(gateway, downstream, work);
      const target: Record<PathName, { url: string; token: string; pids: number[] }> = {
        direct: { url: `${downstream.url}${LIST_PATH}`, token: DOWNSTREAM_TOKEN, pids: [] },
        go: 'skipped' in go ? { url: '', token: '', pids: [] } : { url: `https://127.0.0.1:${go.port}${GATEWAY_LIST_PATH}`, token: alice, pids: [go.process.pid!] },
        gateway: { url: `${gateway.url}${GATEWAY_LIST_PATH}`, token: alice, pids: [gateway.process.pid!] },
      };
      const runs: Record<PathName, Record<number, H2loadResult[]>> = { direct: {}, go: {}, gateway: {} };
      for (let r = 0; r < rounds; r++) {
        for (const c of H2_CONNECTIONS) {
          const order = paths.map((_, i) => paths[(i + r) % paths.length]!);
          for (const p of order) {
            const result = runH2load({ url: target[p].url, token: target[p].token, connections: c, streams: STREAMS, seconds, measurePids: target[p].pids });
            (runs[p][c] ??= []).push(result);
            ctx.log(`  s9 round ${r + 1}/${rounds} c=${c} ${p}: ${Math.round(result.rps)} req/s mean ${result.meanMs.toFixed(2)} ms`);
          }
        }
      }
      const rps = (p: PathName, c: number): Spread => spread(runs[p][c]!.map((x) => x.rps));
      const med = (p: PathName, c: number, f: (x: H2loadResult) => number | undefined) => median(runs[p][c]!.map((x) => f(x) ?? NaN));
      const rows: TargetRow[] = [];
      for (const c of H2_CONNECTIONS) {
        const g = rps('gateway', c).median;
        const d = rps('direct', c).median;
        if (!('skipped' in go)) {
          const o = rps('go', c).median;
          rows.push({ metric: `h2 req/s, ${c} conn. × ${STREAMS} streams`, baselineLabel: 'Go peer over h2', baseline: fmt(o), gateway: fmt(g), ratio: times(g / o), target: '≥ 1.0× the Go peer', met: g / o >= 1 });
        }
        rows.push({ metric: `h2 req/s, ${c} conn. × ${STREAMS} streams`, baselineLabel: 'direct', baseline: fmt(d), gateway: fmt(g), ratio: times(g / d), target: 'reported', met: null });
      }
      return {
        method: [
          `The downstream (bench/downstream.ts with DOWNSTREAM_HTTP2=1: h2 and http/1.1 by ALPN, as kube-apiserver) on core 0; the gateway (${'`bin/kubegate serve`'}, h2 by ALPN towards clients, SQLite, audit to a file) and the Go peer (httputil.ReverseProxy on Go's server, which negotiates h2; GOMAXPROCS=1, built with ${'`' + ('skipped' in go ? 'no Go' : go.version) + '`'}) on core 1. Both proxies reach the downstream over their own upstream clients (the gateway: undici's HTTP/1.1 pool for ordinary requests).`,
          `${'`h2load -c{' + H2_CONNECTIONS.join(',') + '} -m' + STREAMS + ' -D' + seconds + ' --warm-up-time 1`'} (nghttp2-client; wrk speaks HTTP/1.1 only), ${rounds} rounds with the order of the paths rotated; medians with the min–max. h2load reports the mean time per request, not percentiles. Proxy CPU per request: utime+stime of the proxy process over the run divided by requests.`,
        ],
        rows,
        details: [
          {
            title: `h2load, ${STREAMS} streams per connection, ${seconds} s × ${rounds} interleaved rounds; median (min–max) req/s`,
            columns: ['conn.', 'path', 'req/s', 'mean ms', 'proxy CPU µs/req'],
            rows: H2_CONNECTIONS.flatMap((c) => paths.map((p) => [String(c), p, fmtSpread(rps(p, c)), fmt(med(p, c, (x) => x.meanMs)), p === 'direct' ? '—' : fmt(med(p, c, (x) => x.cpuUsPerReq), 3)])),
          },
        ],
        notes: [],
        data: { connections: H2_CONNECTIONS, streams: STREAMS, runs, goPeer: 'skipped' in go ? { skipped: go.skipped } : { version: go.version } },
      };
    } finally {
      await gateway?.stop();
      if (!('skipped' in go)) await stop(go.process);
      await stop(downstream.process);
      work.remove();
    }
  },
};
