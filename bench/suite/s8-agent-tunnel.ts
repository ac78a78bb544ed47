/**
 * Scenario 8 (issue 17): a cluster reached through its agent's tunnel against the same downstream
 * reached directly by the same gateway, in the same run: small GETs (throughput and added p50,
 * interleaved rounds), then idle watches through the tunnel (RSS per watch on the gateway and on
 * the agent).
 */
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { CLUSTER, DOWNSTREAM_TOKEN, LIST_PATH, expectStatus, makeWorkdir, setUpCluster, startDownstream, startGateway } from './fixture.js';
import { ROOT, rssKb, sleep, start, stop } from './processes.js';
import { times, type Scenario } from './results.js';
import { fmt, median } from './stats.js';
import { runWrk, type WrkResult } from './wrk.js';

const AGENT_CLUSTER = 'edge';

export const agentTunnel: Scenario = {
  id: 8,
  title: 'Agent tunnel: small GETs and idle watches through an agent versus direct',
  async run(ctx) {
    const work = await makeWorkdir();
    // HTTP/2 and HTTP/1.1 by ALPN, as kube-apiserver offers them (watches then share connections, as in scenario 3).
    const downstream = await startDownstream(work, { core: 0, env: { DOWNSTREAM_HTTP2: '1' } });
    const files = { token: join(work.dir, 'agent.token'), gwCa: join(work.dir, 'gateway-ca.crt'), kubeToken: join(work.dir, 'kube.token') };
    writeFileSync(files.kubeToken, DOWNSTREAM_TOKEN);

    /** A gateway (same data and certificates each time) and an agent connected to it, both fresh processes. */
    const bringUp = async (first: boolean) => {
      const gw = await startGateway(work, { core: 1 });
      const { admin, alice } = await setUpCluster(gw, downstream, work, first);
      if (first) {
        const reg = expectStatus(await gw.call('POST', '/v1/clusters', { token: admin, body: { id: AGENT_CLUSTER, connection: 'agent' } }), 201, 'register agent cluster');
        await gw.call('PUT', `/v1/clusters/${AGENT_CLUSTER}/members`, { token: admin, body: { principal: 'user:alice', role: 'member' } });
        writeFileSync(files.token, reg.json.agentToken);
        writeFileSync(files.gwCa, gw.caPem);
      }
      const agent = start(process.execPath, [
        join(ROOT, 'bin/kubegate'), 'agent', '--gateway', gw.url, '--cluster', AGENT_CLUSTER, '--token-file', files.token, '--gateway-ca-file', files.gwCa,
        '--kube-api', downstream.url, '--kube-token-file', files.kubeToken, '--kube-ca-file', join(work.dir, 'ca.crt'), '--health-listen', '127.0.0.1:0', '--log-level', 'warn',
        // The agent runs on the cluster's side: the downstream's core, not the gateway's.
      ], { core: 0 });
      agent.stdout!.resume();
      agent.stderr!.resume();
      for (let i = 0; ; i++) {
        const s = await gw.call('GET', `/v1/clusters/${AGENT_CLUSTER}`, { token: admin });
        if (s.json?.status?.agent?.connected === true) break;
        if (i > 100) throw new Error('the agent did not connect');
        await sleep(100);
      }
      return { gw, agent, alice, async down() { await stop(agent); await gw.stop(); } };
    };

    let current: Awaited<ReturnType<typeof bringUp>> | undefined;
    try {
      // Idle watches first, each kind on fresh processes (a heap grown by earlier load hides what
      // watches cost): RSS growth per watch on the gateway, direct and through the tunnel (the
      // tunnel's figure is what it adds to a direct watch, whose client TLS connection dominates),
      // and on the agent.
      const watches = ctx.quick ? 200 : 1000;
      const holdWatches = async (cluster: string) => {
        const { gw, agent, alice } = current!;
        await sleep(1_000);
        const before = { gw: rssKb(gw.process.pid), agent: rssKb(agent.pid) };
        const clientAgent = new Agent({ ca: gw.caPem, keepAlive: true, maxSockets: Infinity });
        const open: IncomingMessage[] = [];
        for (let i = 0; i < watches; i++) {
          open.push(
            await new Promise<IncomingMessage>((resolve, reject) => {
              const req = request(`${gw.url}/k8s/clusters/${cluster}${LIST_PATH}?watch=true&resourceVersion=1008`, { agent: clientAgent, headers: { Authorization: `Bearer ${alice}` } }, resolve);
              req.on('error', reject);
              req.end();
            }),
          );
        }
        for (const res of open) res.resume();
        await sleep(3_000);
        const gwSamples: number[] = [];
        const agentSamples: number[] = [];
        for (let i = 0; i < 5; i++) {
          gwSamples.push(rssKb(gw.process.pid));
          agentSamples.push(rssKb(agent.pid));
          await sleep(200);
        }
        for (const res of open) res.destroy();
        clientAgent.destroy();
        return { gw: (median(gwSamples) - before.gw) / watches, agent: (median(agentSamples) - before.agent) / watches };
      };
      current = await bringUp(true);
      const directWatch = await holdWatches(CLUSTER);
      await current.down();
      current = await bringUp(false);
      const tunnelWatch = await holdWatches(AGENT_CLUSTER);
      await current.down();
      const perGw = tunnelWatch.gw - directWatch.gw;
      const perAgent = tunnelWatch.agent;
      ctx.log(`  s8 watches: direct ${directWatch.gw.toFixed(1)} KiB each, tunnel ${tunnelWatch.gw.toFixed(1)} KiB each on the gateway, ${perAgent.toFixed(1)} KiB each on the agent`);

      current = await bringUp(false);
      const { gw, alice } = current;
      const rounds = ctx.quick ? 1 : 5;
      const seconds = ctx.quick ? 1 : 3;
      const direct: WrkResult[] = [];
      const tunnel: WrkResult[] = [];
      // Warm both routes (pool connections, verdict cache) before measuring.
      runWrk({ url: `${gw.url}/k8s/clusters/${CLUSTER}${LIST_PATH}`, token: alice, connections: 16, seconds: 1 });
      runWrk({ url: `${gw.url}/k8s/clusters/${AGENT_CLUSTER}${LIST_PATH}`, token: alice, connections: 16, seconds: 1 });
      for (let r = 0; r < rounds; r++) {
        direct.push(runWrk({ url: `${gw.url}/k8s/clusters/${CLUSTER}${LIST_PATH}`, token: alice, connections: 16, seconds }));
        tunnel.push(runWrk({ url: `${gw.url}/k8s/clusters/${AGENT_CLUSTER}${LIST_PATH}`, token: alice, connections: 16, seconds }));
        ctx.log(`  s8 round ${r + 1}: direct ${Math.round(direct.at(-1)!.rps)} req/s p50 ${direct.at(-1)!.p50.toFixed(2)} ms; tunnel ${Math.round(tunnel.at(-1)!.rps)} req/s p50 ${tunnel.at(-1)!.p50.toFixed(2)} ms`);
      }
      const rpsDirect = median(direct.map((x) => x.rps));
      const rpsTunnel = median(tunnel.map((x) => x.rps));
      const p50Direct = median(direct.map((x) => x.p50));
      const p50Tunnel = median(tunnel.map((x) => x.p50));

      return {
        method: [
          `The same gateway reaches the same downstream (bench/downstream.ts, HTTP/2 and HTTP/1.1 by ALPN like kube-apiserver; pinned to core 0 with the agent, the gateway to core 1) twice: directly as cluster \`${CLUSTER}\`, and as cluster \`${AGENT_CLUSTER}\` through a \`kubegate agent\` process connected to it (the tunnel: HTTP/2 with reversed roles, TLS to the downstream end to end over CONNECT streams).`,
          `Idle watches: ${watches} watches (one client connection each), directly and then through the tunnel, each on a freshly started gateway and agent; RSS growth (median of 5 samples, 3 s after the last) divided by the count. The gateway's tunnel figure is what a tunnelled watch adds to a direct one; the agent's is its whole growth. Small GETs (on fresh processes again): wrk -t1 -c16, ${rounds} interleaved rounds of ${seconds} s per route after a 1 s warm-up each; medians.`,
        ],
        rows: [
          { metric: 'small GETs, req/s', baselineLabel: 'direct', baseline: fmt(rpsDirect, 0), gateway: fmt(rpsTunnel, 0), ratio: times(rpsTunnel / rpsDirect), target: '≥ 0.7×', met: rpsTunnel / rpsDirect >= 0.7 },
          { metric: 'small GETs, p50', baselineLabel: 'direct', baseline: `${p50Direct.toFixed(2)} ms`, gateway: `${p50Tunnel.toFixed(2)} ms`, ratio: `+${(p50Tunnel - p50Direct).toFixed(2)} ms`, target: '≤ +1 ms', met: p50Tunnel - p50Direct <= 1 },
          { metric: 'idle watch, gateway RSS each', baselineLabel: 'direct watch', baseline: `${directWatch.gw.toFixed(1)} KiB`, gateway: `${tunnelWatch.gw.toFixed(1)} KiB`, ratio: `${perGw >= 0 ? "+" : ""}${perGw.toFixed(1)} KiB`, target: '≤ +10 KiB', met: perGw <= 10 },
          { metric: 'idle watch, agent RSS each', baselineLabel: '—', baseline: '—', gateway: `${perAgent.toFixed(1)} KiB`, ratio: '—', target: '≤ 10 KiB', met: perAgent <= 10 },
        ],
        details: [],
        notes: [],
        data: { direct, tunnel, watches, directWatch, tunnelWatch },
      };
    } finally {
      await current?.down();
      await stop(downstream.process);
      work.remove();
    }
  },
};
