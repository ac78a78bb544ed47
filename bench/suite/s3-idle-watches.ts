/**
 * Scenario 3: thousands of idle watches through one gateway — its RSS per open watch, and what
 * they do to scenario 1's latency at 16 connections.
 */
import type { ChildProcess } from 'node:child_process';
import { GATEWAY_LIST_PATH, makeWorkdir, metricValue, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { openFilesLimit, rssKb, sleep, startTs, stop, waitForLine } from './processes.js';
import { times, type Scenario, type ScenarioContext, type TargetRow } from './results.js';
import { fmt, fmtSpread, median, spread } from './stats.js';
import { runWrk, type WrkResult } from './wrk.js';

const FD_LIMIT = 65_536;
const WATCH_PATH = '/k8s/clusters/bench/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1008';
/** Descriptors the gateway needs besides watches (listeners, database, logs, wrk's 16 connections, slack). */
const FD_RESERVE = 300;
/**
 * The downstream speaks HTTP/2 and HTTP/1.1 as kube-apiserver does, so the gateway carries the
 * watches as HTTP/2 streams. `KUBEGATE_BENCH_UPSTREAM=http1` makes it HTTP/1.1 only, to measure
 * the gateway's fallback (a connection per watch).
 */
const UPSTREAM_HTTP2 = process.env.KUBEGATE_BENCH_UPSTREAM !== 'http1';
/** Streams per upstream connection the gateway uses at most (src/proxy/stream-dispatcher.ts). */
const STREAMS_PER_CONNECTION = 100;
const BASELINE_LABEL = UPSTREAM_HTTP2 ? 'bare Node server holding them as HTTP/2 streams' : 'bare Node HTTPS server holding them';

interface Memory {
  rssKb: number;
  /** From the gateway's own /metrics (prom-client default metrics). */
  heapUsedKb: number;
  heapTotalKb: number;
  externalKb: number;
  /** The downstream's RSS: a bare Node server holding the same watches (HTTP/2 streams, or one TLS connection each). */
  downstreamRssKb: number;
}

interface Level {
  requested: number;
  open: number;
  activeStreams: number;
  memory: Memory;
  perStreamKb: number;
  openSeconds: number;
  latency: WrkResult[];
}

/** Gateway memory after a quiet moment: RSS the median of 5 samples, V8 figures from /metrics. */
async function settledMemory(gw: GatewayProcess, downstreamPid: number | undefined): Promise<Memory> {
  await sleep(2_000);
  const samples: number[] = [];
  const downstream: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKb(gw.process.pid));
    downstream.push(rssKb(downstreamPid));
    await sleep(200);
  }
  const text = await gw.metrics();
  const kb = (name: string) => metricValue(text, `kubegate_process_nodejs_${name}`) / 1024;
  return { rssKb: median(samples), heapUsedKb: kb('heap_size_used_bytes'), heapTotalKb: kb('heap_size_total_bytes'), externalKb: kb('external_memory_bytes'), downstreamRssKb: median(downstream) };
}

function latencyRounds(ctx: ScenarioContext, gw: GatewayProcess, token: string, label: string): WrkResult[] {
  const rounds = ctx.quick ? 1 : 3;
  const out: WrkResult[] = [];
  for (let r = 0; r < rounds; r++) {
    const res = runWrk({ url: `${gw.url}${GATEWAY_LIST_PATH}`, token, connections: 16, seconds: ctx.quick ? 1 : 3 });
    ctx.log(`  s3 ${label}: ${Math.round(res.rps)} req/s p50 ${res.p50.toFixed(2)} ms p99 ${res.p99.toFixed(2)} ms`);
    out.push(res);
  }
  return out;
}

function command(client: ChildProcess, line: string, reply: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const answer = waitForLine(client, reply, 'stdout', timeoutMs);
  client.stdin!.write(`${line}\n`);
  return answer;
}

export const idleWatches: Scenario = {
  id: 3,
  title: 'Idle watches: memory per stream and effect on latency',
  async run(ctx) {
    const wanted = ctx.quick ? [200, 1_000] : [1_000, 10_000];
    const work = await makeWorkdir();
    const downstream = await startDownstream(work, { core: 0, fdLimit: FD_LIMIT, env: UPSTREAM_HTTP2 ? { DOWNSTREAM_HTTP2: '1' } : {} });
    let gw: GatewayProcess | undefined;
    let client: ChildProcess | undefined;
    try {
      gw = await startGateway(work, { core: 1, fdLimit: FD_LIMIT });
      const { alice } = await setUpCluster(gw, downstream, work);
      client = startTs('bench/suite/watch-client.ts', [JSON.stringify({ port: gw.port, path: WATCH_PATH, token: alice })], { fdLimit: FD_LIMIT, stdio: ['pipe', 'pipe', 'pipe'] });
      client.stderr!.resume();
      await sleep(500);
      const limits = { gateway: openFilesLimit(gw.process.pid), downstream: openFilesLimit(downstream.process.pid), client: openFilesLimit(client.pid) };
      // Each watch holds one descriptor in the client and one in the gateway for the client side; its
      // upstream side is a share of an HTTP/2 connection, or a connection of its own (and one in the downstream).
      const upstreamShare = UPSTREAM_HTTP2 ? 1 / STREAMS_PER_CONNECTION : 1;
      const possible = Math.min(Math.floor((limits.gateway - FD_RESERVE) / (1 + upstreamShare)), UPSTREAM_HTTP2 ? Infinity : limits.downstream - FD_RESERVE, limits.client - FD_RESERVE);
      const levels = wanted.map((w) => Math.min(w, possible));
      ctx.log(`  s3 open-files limits: gateway ${limits.gateway}, downstream ${limits.downstream}, client ${limits.client} → at most ${possible} watches`);

      runWrk({ url: `${gw.url}${GATEWAY_LIST_PATH}`, token: alice, connections: 16, seconds: ctx.quick ? 1 : 3 }); // warm-up
      const baseline = latencyRounds(ctx, gw, alice, '0 watches');
      const mem0 = await settledMemory(gw, downstream.process.pid);
      const rss0 = mem0.rssKb;
      ctx.log(`  s3 gateway RSS with no watches: ${(rss0 / 1024).toFixed(1)} MiB`);

      // Memory first, level after level with no other load in between; latency afterwards.
      const measured: Level[] = [];
      let open = 0;
      for (let i = 0; i < levels.length; i++) {
        const target = levels[i]!;
        const started = performance.now();
        const m = await command(client, `open ${target - open}`, /opened (\d+) failed (\d+)/, 300_000);
        const openSeconds = (performance.now() - started) / 1000;
        open = Number(m[1]);
        if (Number(m[2]) > 0) throw new Error(`${m[2]} watches failed to open: ${m[0]}`);
        const memory = await settledMemory(gw, downstream.process.pid);
        const activeStreams = metricValue(await gw.metrics(), 'kubegate_active_streams');
        ctx.log(`  s3 ${open} watches open in ${openSeconds.toFixed(1)} s (gateway counts ${activeStreams}); RSS ${(memory.rssKb / 1024).toFixed(1)} MiB, V8 heap used ${(memory.heapUsedKb / 1024).toFixed(1)} MiB, external ${(memory.externalKb / 1024).toFixed(1)} MiB`);
        measured.push({ requested: wanted[i]!, open, activeStreams, memory, perStreamKb: (memory.rssKb - rss0) / open, openSeconds, latency: [] });
      }
      // Latency with the most watches open, then again with the fewest.
      measured[measured.length - 1]!.latency = latencyRounds(ctx, gw, alice, `${open} watches`);
      if (measured.length > 1) {
        await command(client, 'reset', /reset/, 60_000);
        await sleep(1_000);
        const m = await command(client, `open ${measured[0]!.open}`, /opened (\d+) failed (\d+)/, 300_000);
        if (Number(m[2]) > 0) throw new Error(`${m[2]} watches failed to reopen: ${m[0]}`);
        measured[0]!.latency = latencyRounds(ctx, gw, alice, `${m[1]} watches`);
      }
      await command(client, 'reset', /reset/, 60_000);
      const memAfter = await settledMemory(gw, downstream.process.pid);
      const streamsAfter = metricValue(await gw.metrics(), 'kubegate_active_streams');

      const top = measured[measured.length - 1]!;
      const capped = top.open < top.requested;
      const tenK = 10_000;
      const projected = top.open < tenK;
      // Between two levels the baseline's noise cancels: the marginal cost of one more watch.
      const low = measured[0]!;
      const marginal =
        measured.length > 1
          ? {
              rssKb: (top.memory.rssKb - low.memory.rssKb) / (top.open - low.open),
              heapKb: (top.memory.heapUsedKb - low.memory.heapUsedKb) / (top.open - low.open),
              downstreamKb: (top.memory.downstreamRssKb - low.memory.downstreamRssKb) / (top.open - low.open),
            }
          : undefined;
      const projected10k = top.memory.rssKb + (marginal?.rssKb ?? top.perStreamKb) * (tenK - top.open);
      const downstreamPerWatch = (l: Level) => (l.memory.downstreamRssKb - mem0.downstreamRssKb) / l.open;
      const rows: TargetRow[] = measured.map((l) => ({
        metric: `RSS per idle watch, ${fmt(l.open)} open`,
        baselineLabel: BASELINE_LABEL,
        baseline: `${fmt(downstreamPerWatch(l))} KiB`,
        gateway: `${fmt(l.perStreamKb)} KiB (RSS ${fmt(l.memory.rssKb / 1024)} MiB)`,
        ratio: times(l.perStreamKb / downstreamPerWatch(l)),
        target: '≤ 30 KB per watch',
        met: l.perStreamKb * 1024 <= 30_000,
      }));
      if (marginal) {
        rows.push({
          metric: `RSS per additional idle watch, ${fmt(low.open)} → ${fmt(top.open)} open`,
          baselineLabel: BASELINE_LABEL,
          baseline: `${fmt(marginal.downstreamKb)} KiB`,
          gateway: `${fmt(marginal.rssKb)} KiB`,
          ratio: times(marginal.rssKb / marginal.downstreamKb),
          target: '≤ 30 KB per watch',
          met: marginal.rssKb * 1024 <= 30_000,
        });
      }
      rows.push({
        metric: projected ? `RSS with 10,000 watches (${fmt(top.open)} measured, the rest at the marginal cost)` : 'RSS with 10,000 watches',
        baselineLabel: 'RSS, 0 watches',
        baseline: `${fmt(rss0 / 1024)} MiB`,
        gateway: `${fmt((projected ? projected10k : top.memory.rssKb) / 1024)} MiB`,
        ratio: '—',
        target: '≤ 300 MB',
        met: ((projected ? projected10k : top.memory.rssKb) * 1024) / 1e6 <= 300,
      });
      const p99 = (xs: WrkResult[]) => median(xs.map((x) => x.p99));
      for (const l of measured.filter((x) => x.latency.length > 0)) {
        rows.push({
          metric: `p99, 16 conn. small GETs with ${fmt(l.open)} watches open`,
          baselineLabel: '0 watches',
          baseline: `${fmt(p99(baseline))} ms`,
          gateway: `${fmt(p99(l.latency))} ms`,
          ratio: times(p99(l.latency) / p99(baseline)),
          target: 'reported',
          met: null,
        });
      }
      const notes: string[] = [];
      if (capped) {
        notes.push(
          `Only ${fmt(top.open)} of ${fmt(top.requested)} watches could be opened: the open-files hard limit here is ${limits.gateway} (raising it needs CAP_SYS_RESOURCE, which this machine does not grant) and each watch holds ${UPSTREAM_HTTP2 ? 'a descriptor in the gateway for its client connection (its upstream side is an HTTP/2 stream)' : 'two descriptors in the gateway (the client connection and its own upstream connection)'}. The 10,000 figure adds the missing watches at the measured marginal cost.`,
        );
      }
      notes.push(`After closing every watch the gateway reported ${streamsAfter} active streams and RSS ${fmt(memAfter.rssKb / 1024)} MiB (from ${fmt(top.memory.rssKb / 1024)} MiB; V8 heap used ${fmt(memAfter.heapUsedKb / 1024)} MiB).`);
      return {
        method: [
          `One gateway (core 1, SQLite) in front of the downstream (core 0), both started through \`bash -c 'ulimit -n ${FD_LIMIT} || ulimit -n <hard>; exec …'\`. A client process (bench/suite/watch-client.ts) opens raw TLS connections to the gateway, each sending one \`GET …/configmaps?watch=true\` that the downstream answers with headers and then nothing; a watch counts once its 200 and headers have arrived, and the gateway's \`kubegate_active_streams\` must agree.`,
          `Memory first: after a warm-up with small GETs, the gateway's VmRSS with no watches (median of 5 samples after 2 s of quiet), then the same after opening each level of watches, with no other load in between; per watch = RSS delta / watches, and between the two levels (where the noise of the no-watch baseline cancels) the marginal cost of one more. Baseline: the downstream's own RSS delta per watch — ${UPSTREAM_HTTP2 ? 'a bare Node server (node:http2, h2 and http/1.1 by ALPN, as kube-apiserver) holding the same watches as the HTTP/2 streams the gateway opens, at most ' + STREAMS_PER_CONNECTION + ' to a connection; the gateway holds a TLS connection per watch towards the client and a stream towards the downstream' : 'a bare Node HTTPS server speaking only HTTP/1.1, holding the same watches, one TLS connection each where the gateway holds two (the client\'s and its upstream one)'}. Then latency: \`wrk -t1 -c16\` small GETs through the same gateway with the most watches open, and again with the fewest (reopened), ${ctx.quick ? 1 : 3} rounds of ${ctx.quick ? 1 : 3} s each, against the same with none open (measured first).`,
        ],
        rows,
        details: [
          {
            title: 'gateway memory with idle watches open (MiB; V8 figures from its /metrics)',
            columns: ['watches', 'time to open', 'RSS', 'KiB RSS per watch', 'V8 heap used', 'V8 heap total', 'external', 'KiB heap used per watch', 'downstream KiB RSS per watch'],
            rows: [
              ['0', '—', fmt(rss0 / 1024), '—', fmt(mem0.heapUsedKb / 1024), fmt(mem0.heapTotalKb / 1024), fmt(mem0.externalKb / 1024), '—', '—'],
              ...measured.map((l) => [
                fmt(l.open),
                `${fmt(l.openSeconds)} s`,
                fmt(l.memory.rssKb / 1024),
                fmt(l.perStreamKb),
                fmt(l.memory.heapUsedKb / 1024),
                fmt(l.memory.heapTotalKb / 1024),
                fmt(l.memory.externalKb / 1024),
                fmt((l.memory.heapUsedKb - mem0.heapUsedKb) / l.open),
                fmt(downstreamPerWatch(l)),
              ]),
              ...(marginal ? [[`each of ${fmt(low.open)} → ${fmt(top.open)}`, '—', '—', fmt(marginal.rssKb), '—', '—', '—', fmt(marginal.heapKb), fmt(marginal.downstreamKb)]] : []),
            ],
          },
          {
            title: `small GETs through the same gateway, wrk -t1 -c16, median of ${ctx.quick ? 1 : 3} rounds (req/s with min–max)`,
            columns: ['watches open', 'req/s', 'p50 ms', 'p99 ms'],
            rows: [
              ['0', fmtSpread(spread(baseline.map((x) => x.rps))), fmt(median(baseline.map((x) => x.p50))), fmt(p99(baseline))],
              ...measured.filter((l) => l.latency.length > 0).map((l) => [fmt(l.open), fmtSpread(spread(l.latency.map((x) => x.rps))), fmt(median(l.latency.map((x) => x.p50))), fmt(p99(l.latency))]),
            ],
          },
        ],
        notes,
        data: { limits, memory0: mem0, levels: measured, marginal, baseline, memoryAfter: memAfter, streamsAfter, projected10kKb: projected ? projected10k : null },
      };
    } finally {
      await stop(client, 'SIGKILL');
      await gw?.stop();
      await stop(downstream.process);
      work.remove();
    }
  },
};
