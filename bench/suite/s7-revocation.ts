/**
 * Scenario 7: revocation across two replicas on PostgreSQL — from `DELETE /v1/tokens/{id}` on
 * replica A until replica B, which had the token's verdict cached, refuses it. Baseline: the same
 * with A refusing (no replica hop).
 */
import { startTestPostgres, type TestPostgres } from '../../test/support/postgres.js';
import { keepAlive, timedGet } from './client.js';
import { createTokens, expectStatus, GATEWAY_LIST_PATH, makeWorkdir, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { sleep, stop } from './processes.js';
import { times, type Scenario } from './results.js';
import { fmt, median, quantile } from './stats.js';

const POLL_EVERY_MS = 2;
const GIVE_UP_MS = 10_000;

/** Revokes `token` on `a` and polls `b` until it answers 401; ms from sending the DELETE. */
async function revocation(a: GatewayProcess, b: GatewayProcess, session: string, token: { token: string; tokenId: string }): Promise<{ ms: number; deleteMs: number; polls: number }> {
  const agent = keepAlive(b.caPem, 1);
  const url = `${b.url}${GATEWAY_LIST_PATH}`;
  try {
    const warm = await timedGet(url, token.token, agent);
    if (warm.status !== 200) throw new Error(`the token did not work before revocation: HTTP ${warm.status}`);
    const started = performance.now();
    const deleted = a.call('DELETE', `/v1/tokens/${token.tokenId}`, { token: session }).then((answer) => {
      expectStatus(answer, 204, 'revoke token');
      return performance.now() - started;
    });
    let polls = 0;
    for (;;) {
      const r = await timedGet(url, token.token, agent);
      polls++;
      if (r.status === 401) return { ms: r.end - started, deleteMs: await deleted, polls };
      if (r.status !== 200) throw new Error(`unexpected HTTP ${r.status} while polling`);
      if (r.end - started > GIVE_UP_MS) return { ms: Infinity, deleteMs: await deleted, polls };
      await sleep(POLL_EVERY_MS);
    }
  } finally {
    agent.destroy();
  }
}

export const revocationLatency: Scenario = {
  id: 7,
  title: 'Revocation latency across two replicas on PostgreSQL',
  async run(ctx) {
    const n = ctx.quick ? 5 : 30;
    const work = await makeWorkdir();
    const downstream = await startDownstream(work, { core: 0 });
    let pg: TestPostgres | undefined;
    let a: GatewayProcess | undefined;
    let b: GatewayProcess | undefined;
    try {
      pg = await startTestPostgres();
      const databaseUrl = await pg.createDatabase('bench_revocation');
      // A long verdict TTL: only the revocation event can make a replica refuse within the run.
      const extraFlags = ['--auth-cache-ttl', '10m'];
      a = await startGateway(work, { name: 'a', databaseUrl, extraFlags });
      b = await startGateway(work, { name: 'b', databaseUrl, extraFlags, certsDir: a.certsDir });
      const { alice } = await setUpCluster(a, downstream, work);
      // B learns of the cluster registered on A through the database; wait until it routes there.
      for (let i = 0; (await timedGet(`${b.url}${GATEWAY_LIST_PATH}`, alice, b.agent)).status !== 200; i++) {
        if (i > 100) throw new Error('replica B never learnt of the cluster registered on A');
        await sleep(100);
      }
      const tokens = await createTokens(a, alice, 2 * n);
      const cross: Array<Awaited<ReturnType<typeof revocation>>> = [];
      const same: Array<Awaited<ReturnType<typeof revocation>>> = [];
      for (let i = 0; i < n; i++) {
        cross.push(await revocation(a, b, alice, tokens[2 * i]!));
        same.push(await revocation(a, a, alice, tokens[2 * i + 1]!));
        ctx.log(`  s7 ${i + 1}/${n}: A→B ${cross.at(-1)!.ms.toFixed(1)} ms, A→A ${same.at(-1)!.ms.toFixed(1)} ms (DELETE answered in ${cross.at(-1)!.deleteMs.toFixed(1)} ms)`);
        await sleep(50);
      }
      const ms = (xs: typeof cross) => xs.map((x) => x.ms);
      const c = { p50: median(ms(cross)), p99: quantile(ms(cross), 0.99), max: Math.max(...ms(cross)) };
      const s = { p50: median(ms(same)), p99: quantile(ms(same), 0.99), max: Math.max(...ms(same)) };
      return {
        method: [
          `Two replicas (\`bin/kubegate serve --database-url … --auth-cache-ttl 10m\`, sharing one certificate) on one embedded PostgreSQL on loopback, the downstream on core 0. For each of ${n} tokens: a request through B caches its verdict; then \`DELETE /v1/tokens/{id}\` goes to A, and B is polled with the token over a keep-alive connection (a request, then ${POLL_EVERY_MS} ms, repeated) until it answers 401. Latency = from sending the DELETE to receiving that 401 (an upper bound: the refusal happened during the last poll).`,
          'Baseline, interleaved with it: the same with A polled (the revoking replica itself, no replica hop). The 10-minute verdict TTL means only the revocation event can explain a refusal.',
        ],
        rows: [
          { metric: `revocation → other replica refuses, p50 (${n} revocations)`, baselineLabel: 'same replica', baseline: `${fmt(s.p50)} ms`, gateway: `${fmt(c.p50)} ms`, ratio: times(c.p50 / s.p50), target: 'reported', met: null },
          { metric: `revocation → other replica refuses, p99 (${n} revocations)`, baselineLabel: 'same replica', baseline: `${fmt(s.p99)} ms`, gateway: `${fmt(c.p99)} ms`, ratio: times(c.p99 / s.p99), target: '≤ 1 s', met: c.p99 <= 1000 },
        ],
        details: [
          {
            title: 'ms from sending DELETE on A to the first 401',
            columns: ['refusing replica', 'p50', 'p99', 'max', 'DELETE answered (p50)', 'polls (p50)'],
            rows: [
              ['B (other replica)', fmt(c.p50), fmt(c.p99), fmt(c.max), fmt(median(cross.map((x) => x.deleteMs))), fmt(median(cross.map((x) => x.polls)))],
              ['A (same replica)', fmt(s.p50), fmt(s.p99), fmt(s.max), fmt(median(same.map((x) => x.deleteMs))), fmt(median(same.map((x) => x.polls)))],
            ],
          },
        ],
        notes: [],
        data: { cross, same },
      };
    } finally {
      await b?.stop();
      await a?.stop();
      await stop(downstream.process);
      await pg?.destroy();
      work.remove();
    }
  },
};
