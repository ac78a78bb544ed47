/**
 * Issue 6's store benchmark: what one verdict-cache miss costs on SQLite and on PostgreSQL — the
 * whole uncached path (`StoreTokenAuthenticator`: parse, `getTokenVerdict`, hash check,
 * `membershipsOf`), every request a token not seen before.
 *
 *   node --import tsx bench/store-miss.ts [--tokens 5000] [--concurrency 8] [--database-url postgres://…]
 *
 * Without `--database-url` it starts an embedded PostgreSQL on loopback (as the tests do).
 * Sequential figures are latency per miss; the concurrent round shows throughput with
 * `--concurrency` misses in flight (PostgreSQL pool of the same size).
 */
import { parseArgs } from 'node:util';
import { StoreTokenAuthenticator } from '../src/auth/store-authenticator.js';
import { issueToken } from '../src/auth/tokens.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/store.js';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres.js';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '8' },
    'database-url': { type: 'string' },
  },
});
const tokenCount = Number(values.tokens);
const concurrency = Number(values.concurrency);

/** One user in three groups, member of three clusters, holding `tokenCount` tokens. */
async function seed(store: Store): Promise<string[]> {
  await store.createUser({ id: 'u-bench', username: 'bench', passwordHash: 'x', groups: ['dev', 'ops', 'sre'], admin: false, enabled: true });
  for (const id of ['c-1', 'c-2', 'c-3']) {
    await store.createCluster({ id, name: id, connection: 'direct', server: `https://${id}`, insecureSkipTLSVerify: false, credential: { token: 'x' }, authorizedEndpoint: { enabled: false, controlPlaneNodes: [] } });
  }
  await store.putMember({ clusterId: 'c-1', principal: 'user:bench', role: 'owner' });
  await store.putMember({ clusterId: 'c-2', principal: 'group:dev', role: 'member' });
  await store.putMember({ clusterId: 'c-3', principal: 'group:sre', role: 'member' });
  const tokens: string[] = [];
  for (let i = 0; i < tokenCount; i++) {
    const t = issueToken();
    await store.createToken({ id: t.id, kind: 'api', userId: 'u-bench', clusterId: null, description: '', secretHash: t.secretHash, expiresAt: null });
    tokens.push(t.token);
  }
  return tokens;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(name: string, store: Store): Promise<void> {
  const tokens = await seed(store);
  const auth = new StoreTokenAuthenticator(store);
  // Warm up statements and connections on a slice, then measure on tokens never looked up.
  const warm = Math.min(200, Math.floor(tokens.length / 10));
  for (const t of tokens.slice(0, warm)) await auth.authenticate(t);
  const rest = tokens.slice(warm);
  const half = Math.floor(rest.length / 2);

  const latencies: number[] = [];
  for (const t of rest.slice(0, half)) {
    const started = performance.now();
    const result = await auth.authenticate(t);
    latencies.push(performance.now() - started);
    if (!result.authenticated) throw new Error(`${name}: a seeded token was refused`);
  }
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;

  const queue = rest.slice(half);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let t = queue.pop(); t !== undefined; t = queue.pop()) await auth.authenticate(t);
    }),
  );
  const perSecond = (rest.length - half) / ((performance.now() - started) / 1000);
  console.log(
    `${name.padEnd(10)} sequential: mean ${mean.toFixed(3)} ms, p50 ${quantile(latencies, 0.5).toFixed(3)} ms, p99 ${quantile(latencies, 0.99).toFixed(3)} ms` +
      ` | ${concurrency} in flight: ${Math.round(perSecond).toLocaleString('en')} misses/s`,
  );
}

let embedded: TestPostgres | undefined;
try {
  const sqlite = await openSqliteStore(':memory:');
  await measure('sqlite', sqlite).finally(() => sqlite.close());

  let url = values['database-url'];
  if (!url) {
    embedded = await startTestPostgres();
    url = await embedded.createDatabase('bench');
  }
  const postgres = await openPostgresStore(url, { poolSize: concurrency });
  await measure('postgres', postgres).finally(() => postgres.close());
} finally {
  await embedded?.destroy();
}
