/**
 * Closed-loop load over HTTP/2 with h2load (Debian's nghttp2-client): `connections` TLS connections
 * negotiating h2, each keeping `streams` requests in flight, a bearer token on every request. wrk
 * speaks HTTP/1.1 only.
 */
import { spawnSync } from 'node:child_process';
import { cpuTicks } from './processes.js';

export interface H2loadResult {
  rps: number;
  /** Mean time per request, ms (h2load reports no percentiles). */
  meanMs: number;
  maxMs: number;
  requests: number;
  /** CPU the measured processes used per request, µs (when pids were given). */
  cpuUsPerReq?: number;
}

/** h2load's durations (`123us`, `4.56ms`, `1.2s`) in milliseconds. */
function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : v * 1000;
}

/** Runs h2load for `seconds` (after a 1 s warm-up) and fails on any non-2xx answer or error. */
export function runH2load(options: { url: string; token: string; connections: number; streams: number; seconds: number; measurePids?: number[] }): H2loadResult {
  const args = ['-c', String(options.connections), '-m', String(options.streams), '-D', String(options.seconds), '--warm-up-time', '1', '-H', `authorization: Bearer ${options.token}`, options.url];
  const pids = options.measurePids ?? [];
  const before = pids.reduce((t, p) => t + cpuTicks(p), 0);
  const r = spawnSync('h2load', args, { encoding: 'utf8', timeout: (options.seconds + 30) * 1000 });
  const ticks = pids.reduce((t, p) => t + cpuTicks(p), 0) - before;
  const out = r.stdout ?? '';
  const finished = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const time = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  if (!finished || !requests || !codes || !time) throw new Error(`h2load failed (${r.status}): ${out} ${r.stderr}`);
  if (!/Application protocol: h2/.test(out)) throw new Error(`h2load did not negotiate h2 with ${options.url}: ${out}`);
  const bad = Number(codes[2]) + Number(codes[3]) + Number(codes[4]);
  if (bad > 0 || Number(requests[5]) > 0 || Number(requests[6]) > 0) throw new Error(`h2load saw ${bad} non-2xx answers and ${requests[5]} failed requests on ${options.url}: ${out}`);
  const result: H2loadResult = { rps: Number(finished[1]), meanMs: ms(time[3]!), maxMs: ms(time[2]!), requests: Number(requests[4]) };
  if (pids.length) result.cpuUsPerReq = (ticks * 10_000) / result.requests;
  return result;
}
