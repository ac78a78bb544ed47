/**
 * An open-loop, constant-rate load generator (wrk2 is not packaged in Debian, plain wrk has no
 * rate option): request i is due at start + i/rate whether or not earlier ones have answered, and
 * its latency counts from that due time to the end of its body, so queueing behind a stall is
 * measured (no coordinated omission). Requests go over `connections` keep-alive TLS connections
 * (an undici Pool, queueing when all are busy).
 *
 *   node --import tsx bench/suite/rate-load.ts '{"url":"https://…","token":"…","rate":4000,"seconds":5,"warmupSeconds":1,"connections":16}'
 *
 * Prints one JSON line: achieved rate, latency quantiles (ms), errors, and `stalls`: when (ms
 * after the measured part began) requests took longer than 10 ms, grouped into episodes.
 */
import { Pool } from 'undici';

interface Options {
  url: string;
  token: string;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const target = new URL(options.url);
const pool = new Pool(target.origin, { connections: options.connections, pipelining: 1, connect: { rejectUnauthorized: false }, keepAliveTimeout: 60_000 });
const path = target.pathname + target.search;
const headers = { authorization: `Bearer ${options.token}` };

const warmup = Math.round(options.rate * options.warmupSeconds);
const total = warmup + Math.round(options.rate * options.seconds);
const latencies = new Float64Array(total - warmup);
/** Due time of each measured request, ms after the first measured one was due. */
const dueAt = new Float64Array(total - warmup);
const STALL_MS = 10;
let measured = 0;
let errors = 0;
let done = 0;
let sent = 0;
let maxLagMs = 0;
const intervalMs = 1000 / options.rate;
let startedAt = 0;
let finish: () => void;
const finished = new Promise<void>((r) => (finish = r));

function send(i: number, due: number): void {
  pool
    .request({ path, method: 'GET', headers })
    .then(async ({ statusCode, body }) => {
      for await (const _ of body) {
        // drain
      }
      if (statusCode !== 200) errors++;
      else if (i >= warmup) {
        dueAt[measured] = due - (startedAt + warmup * intervalMs);
        latencies[measured++] = performance.now() - due;
      }
    })
    .catch(() => errors++)
    .finally(() => {
      if (++done === total) finish();
    });
}

function tick(): void {
  const now = performance.now();
  while (sent < total) {
    const due = startedAt + sent * intervalMs;
    if (due > now) break;
    maxLagMs = Math.max(maxLagMs, now - due);
    send(sent, due);
    sent++;
  }
  if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, startedAt + sent * intervalMs - performance.now())));
}

startedAt = performance.now();
tick();
await finished;
const elapsed = (performance.now() - startedAt) / 1000;
// Episodes of slow requests: slow ones (over STALL_MS) due less than 50 ms apart belong together.
const slow = Array.from({ length: measured }, (_, k) => k).filter((k) => latencies[k]! > STALL_MS).sort((a, b) => dueAt[a]! - dueAt[b]!);
const stalls: Array<{ atMs: number; requests: number; worstMs: number }> = [];
let lastSlowDue = -Infinity;
for (const k of slow) {
  const last = stalls[stalls.length - 1];
  if (last && dueAt[k]! - lastSlowDue < 50) {
    last.requests++;
    last.worstMs = Math.max(last.worstMs, latencies[k]!);
  } else stalls.push({ atMs: Math.round(dueAt[k]!), requests: 1, worstMs: latencies[k]! });
  lastSlowDue = dueAt[k]!;
}
for (const st of stalls) st.worstMs = Math.round(st.worstMs * 10) / 10;
const sorted = Array.from(latencies.subarray(0, measured)).sort((a, b) => a - b);
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
process.stdout.write(
  JSON.stringify({
    rate: options.rate,
    achievedRate: total / elapsed,
    measured,
    errors,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    p999: q(0.999),
    max: sorted[sorted.length - 1] ?? NaN,
    maxDispatchLagMs: maxLagMs,
    /** Wall-clock time the measured part began, to line stalls up with other logs. */
    measuredFromEpochMs: Math.round(performance.timeOrigin + startedAt + warmup * intervalMs),
    stalls,
  }) + '\n',
);
await pool.close();
