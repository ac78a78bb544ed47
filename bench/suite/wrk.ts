/** Closed-loop load with wrk (one thread, keep-alive connections, a bearer token on every request). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuTicks } from './processes.js';

export interface WrkResult {
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  requests: number;
  /** CPU the measured server process used per request, µs (when a pid was given). */
  cpuUsPerReq?: number;
}

const scriptDir = mkdtempSync(join(tmpdir(), 'kubegate-wrk-'));
process.once('exit', () => rmSync(scriptDir, { recursive: true, force: true }));

function script(token: string): string {
  const path = join(scriptDir, `${Buffer.from(token).toString('hex').slice(0, 32)}.lua`);
  writeFileSync(
    path,
    `wrk.headers["Authorization"] = "Bearer ${token}"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %f %f %f %d %d %d\\n", summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99), summary.errors.status, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`,
  );
  return path;
}

/**
 * Runs `wrk -t1 -c<connections> -d<seconds>s` and fails on any non-2xx answer or socket error.
 * With `measurePid`, also reports that process's CPU time per request over the run.
 */
export function runWrk(options: { url: string; token: string; connections: number; seconds: number; measurePid?: number; core?: number }): WrkResult {
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--timeout', '10s', '--latency', '-s', script(options.token), options.url];
  const before = cpuTicks(options.measurePid);
  const r = options.core === undefined ? spawnSync('wrk', args, { encoding: 'utf8' }) : spawnSync('taskset', ['-c', String(options.core), 'wrk', ...args], { encoding: 'utf8' });
  const ticks = cpuTicks(options.measurePid) - before;
  const m = /RESULT ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+) (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk failed: ${r.stdout} ${r.stderr}`);
  if (Number(m[4]) > 0) throw new Error(`wrk saw ${m[4]} non-2xx answers from ${options.url}`);
  if (Number(m[6]) > 0) throw new Error(`wrk saw ${m[6]} socket errors on ${options.url}`);
  const result: WrkResult = { rps: Number(m[1]), p50: Number(m[2]) / 1000, p99: Number(m[3]) / 1000, requests: Number(m[5]) };
  if (options.measurePid) result.cpuUsPerReq = (ticks * 10_000) / result.requests;
  return result;
}
