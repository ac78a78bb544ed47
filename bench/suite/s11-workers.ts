/**
 * Scenario 11 (issue 19): `--workers 2` against `--workers 1` — small GETs at 64 connections over
 * HTTP/1.1 (wrk), the two gateways alternated round by round, everything on the same 2 cores.
 */
import { spawnSync } from 'node:child_process';
import { GATEWAY_LIST_PATH, makeWorkdir, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { times, type Scenario, type TargetRow } from './results.js';
import { fmt, fmtSpread, median, spread } from './stats.js';
import { runWrk, type WrkResult } from './wrk.js';
import { cpuTicks, stop } from './processes.js';

const CONNECTIONS = 64;
const WORKERS = [1, 2] as const;

/** The gateway's processes: the primary and, with --workers, its workers. */
function gatewayPids(gw: GatewayProcess): number[] {
  const r = spawnSync('pgrep', ['-P', String(gw.process.pid)], { encoding: 'utf8' });
  return [gw.process.pid!, ...r.stdout.split('\n').filter(Boolean).map(Number)];
}

export const workersScaling: Scenario = {
  id: 11,
  title: '--workers 2 against --workers 1, 64 connections',
  async run(ctx) {
    const seconds = ctx.quick ? 1 : 3;
    const rounds = ctx.quick ? 1 : 5;
    const work = await makeWorkdir();
    const downstream = await startDownstream(work, { core: 0 });
    const gateways: Partial<Record<(typeof WORKERS)[number], GatewayProcess>> = {};
    try {
      // Unpinned, both: two workers need both cores; the downstream keeps core 0 as in scenario 1.
      for (const n of WORKERS) gateways[n] = await startGateway(work, { name: `gateway-w${n}`, extraFlags: ['--workers', String(n)] });
      const tokens: Record<number, string> = {};
      for (const n of WORKERS) tokens[n] = (await setUpCluster(gateways[n]!, downstream, work)).alice;
      const url = (n: number) => `${gateways[n as 1 | 2]!.url}${GATEWAY_LIST_PATH}`;
      for (const n of WORKERS) runWrk({ url: url(n), token: tokens[n]!, connections: CONNECTIONS, seconds: 1 }); // warm-up
      const runs: Record<number, WrkResult[]> = { 1: [], 2: [] };
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? WORKERS : [...WORKERS].reverse();
        for (const n of order) {
          const pids = gatewayPids(gateways[n]!);
          const before = pids.map((p) => cpuTicks(p));
          const result = runWrk({ url: url(n), token: tokens[n]!, connections: CONNECTIONS, seconds });
          const ticks = pids.reduce((t, p, i) => t + cpuTicks(p) - before[i]!, 0);
          result.cpuUsPerReq = (ticks * 10_000) / result.requests;
          runs[n]!.push(result);
          ctx.log(`  s11 round ${r + 1}/${rounds} --workers ${n}: ${Math.round(result.rps)} req/s p99 ${result.p99.toFixed(2)} ms`);
        }
      }
      const rps = (n: number) => spread(runs[n]!.map((x) => x.rps));
      const ratio = rps(2).median / rps(1).median;
      const rows: TargetRow[] = [
        { metric: `req/s, ${CONNECTIONS} conn., --workers 2`, baselineLabel: '--workers 1', baseline: fmt(rps(1).median), gateway: fmt(rps(2).median), ratio: times(ratio), target: 'reported (load generator and downstream on the same 2 cores)', met: null },
      ];
      return {
        method: [
          `Two gateways (\`bin/kubegate serve\`, SQLite) in front of one downstream (core 0): one with \`--workers 1\`, one with \`--workers 2\` (a primary and two workers sharing the listener through node:cluster), both unpinned, as two workers need both cores. \`wrk -t1 -c${CONNECTIONS} -d${seconds}s\` over HTTP/1.1 keep-alive, the two gateways alternated round by round (${rounds} rounds). CPU per request sums the primary and its workers.`,
          'On this 2-core machine wrk and the downstream use the same cores as the workers: the ratio is bounded by what they leave over, not by the gateway alone.',
        ],
        rows,
        details: [
          {
            title: `wrk -t1 -c${CONNECTIONS} -d${seconds}s, ${rounds} alternated rounds; median (min–max)`,
            columns: ['workers', 'req/s', 'p50 ms', 'p99 ms', 'gateway CPU µs/req'],
            rows: WORKERS.map((n) => [String(n), fmtSpread(rps(n)), fmt(median(runs[n]!.map((x) => x.p50))), fmt(median(runs[n]!.map((x) => x.p99))), fmt(median(runs[n]!.map((x) => x.cpuUsPerReq ?? NaN)), 3)]),
          },
        ],
        notes: [],
        data: { connections: CONNECTIONS, runs, ratio },
      };
    } finally {
      for (const n of WORKERS) await gateways[n]?.stop();
      await stop(downstream.process);
      work.remove();
    }
  },
};
