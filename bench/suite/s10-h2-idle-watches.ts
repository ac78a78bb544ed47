/**
 * Scenario 10 (issue 19): idle watches multiplexed over HTTP/2 towards the gateway — 10,000
 * watches on 100 client connections (100 streams each, as client-go shares one connection among
 * a controller's informers) — and the gateway's RSS per watch. Scenario 3 holds the same watches
 * one HTTP/1.1 connection each.
 */
import type { ChildProcess } from 'node:child_process';
import { makeWorkdir, metricValue, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { rssKb, sleep, startTs, stop, waitForLine } from './processes.js';
import { type Scenario, type TargetRow } from './results.js';
import { fmt, median } from './stats.js';

const WATCH_PATH = '/k8s/clusters/bench/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1008';
const PER_CONNECTION = 100;
const FD_LIMIT = 65_536;

/** The gateway's VmRSS after a quiet moment (median of 5 samples). */
async function settledRss(pid: number | undefined): Promise<number> {
  await sleep(2_000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKb(pid));
    await sleep(200);
  }
  return median(samples);
}

function command(client: ChildProcess, line: string, reply: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const answer = waitForLine(client, reply, 'stdout', timeoutMs);
  client.stdin!.write(`${line}\n`);
  return answer;
}

export const h2IdleWatches: Scenario = {
  id: 10,
  title: 'Idle watches multiplexed over HTTP/2: gateway memory per watch',
  async run(ctx) {
    const wanted = ctx.quick ? 1_000 : 10_000;
    const work = await makeWorkdir();
    // The downstream offers h2 (kube-apiserver does): the gateway's upstream side is streams too.
    const downstream = await startDownstream(work, { core: 0, fdLimit: FD_LIMIT, env: { DOWNSTREAM_HTTP2: '1' } });
    let gw: GatewayProcess | undefined;
    let client: ChildProcess | undefined;
    try {
      gw = await startGateway(work, { core: 1, fdLimit: FD_LIMIT });
      const { alice } = await setUpCluster(gw, downstream, work);
      client = startTs('bench/suite/h2-watch-client.ts', [JSON.stringify({ port: gw.port, path: WATCH_PATH, token: alice, perConnection: PER_CONNECTION })], { stdio: ['pipe', 'pipe', 'pipe'] });
      client.stderr!.resume();
      // A few requests first, so the baseline includes the warmed-up request path.
      for (let i = 0; i < 50; i++) await gw.call('GET', '/k8s/clusters/bench/api/v1/namespaces/default/configmaps', { token: alice });
      const rss0 = await settledRss(gw.process.pid);
      ctx.log(`  s10 gateway RSS with no watches: ${(rss0 / 1024).toFixed(1)} MiB`);
      const started = performance.now();
      const m = await command(client, `open ${wanted}`, /opened (\d+) failed (\d+).* connections (\d+)/, 300_000);
      const openSeconds = (performance.now() - started) / 1000;
      const open = Number(m[1]);
      if (Number(m[2]) > 0) throw new Error(`${m[2]} watches failed to open: ${m[0]}`);
      const rss = await settledRss(gw.process.pid);
      const activeStreams = metricValue(await gw.metrics(), 'kubegate_active_streams');
      const perWatchKb = (rss - rss0) / open;
      ctx.log(`  s10 ${open} watches on ${m[3]} h2 connections in ${openSeconds.toFixed(1)} s (gateway counts ${activeStreams}); RSS ${(rss / 1024).toFixed(1)} MiB, ${perWatchKb.toFixed(1)} KiB each`);
      await command(client, 'reset', /reset/, 60_000);
      const rssAfter = await settledRss(gw.process.pid);
      const streamsAfter = metricValue(await gw.metrics(), 'kubegate_active_streams');
      // The target is what the watches add (10,000 × 15 KiB ≈ 150 MB), the idle gateway aside.
      const added10kMiB = (open === 10_000 ? rss - rss0 : perWatchKb * 10_000) / 1024;
      const rows: TargetRow[] = [
        { metric: `RSS per idle watch, ${fmt(open)} on ${m[3]} h2 connections`, baselineLabel: 'RSS, 0 watches', baseline: `${fmt(rss0 / 1024)} MiB`, gateway: `${fmt(perWatchKb)} KiB (RSS ${fmt(rss / 1024)} MiB)`, ratio: '—', target: '≤ 15 KiB per watch', met: perWatchKb <= 15 },
        {
          metric: open === 10_000 ? 'RSS added by 10,000 watches on 100 h2 connections' : `RSS added by 10,000 watches (${fmt(open)} measured, projected at the same cost)`,
          baselineLabel: 'RSS, 0 watches',
          baseline: `${fmt(rss0 / 1024)} MiB`,
          gateway: `${fmt(added10kMiB)} MiB (RSS ${fmt(rss0 / 1024 + added10kMiB)} MiB)`,
          ratio: '—',
          target: '≤ 150 MB',
          met: (added10kMiB * 1024 * 1024) / 1e6 <= 150,
        },
      ];
      return {
        method: [
          `One gateway (core 1, SQLite; h2 by ALPN towards clients) in front of the downstream (core 0, h2 and http/1.1 by ALPN as kube-apiserver, so the gateway's upstream watches are HTTP/2 streams too, at most 100 to a connection). A client process (bench/suite/h2-watch-client.ts) opens ${fmt(wanted)} \`GET …/configmaps?watch=true\` as HTTP/2 streams, ${PER_CONNECTION} on each TLS connection; the downstream answers each with headers and then nothing. A watch counts once its 200 has arrived; the gateway's \`kubegate_active_streams\` must agree.`,
          'The gateway\'s VmRSS with no watches (median of 5 samples after 2 s of quiet, after 50 small GETs), then with every watch open; per watch = RSS delta / watches.',
        ],
        rows,
        details: [],
        notes: [`After closing every watch the gateway reported ${streamsAfter} active streams and RSS ${fmt(rssAfter / 1024)} MiB.`, `Opening took ${fmt(openSeconds)} s; the gateway counted ${activeStreams} active streams.`],
        data: { wanted, open, connections: Number(m[3]), rss0Kb: rss0, rssKb: rss, perWatchKb, rssAfterKb: rssAfter, activeStreams, streamsAfter, openSeconds },
      };
    } finally {
      await stop(client, 'SIGKILL');
      await gw?.stop();
      await stop(downstream.process);
      work.remove();
    }
  },
};
