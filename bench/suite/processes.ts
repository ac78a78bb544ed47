/**
 * Child processes of the suite: spawned pinned to a core (taskset) and with a raised fd limit when
 * asked, every one registered so that an interrupted run leaves nothing behind, and read through
 * /proc for CPU time and resident memory.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const hasTaskset = spawnSync('taskset', ['--version']).status === 0 && cpus().length >= 2;

const children = new Set<ChildProcess>();

/** Children started as the leader of their own process group (nginx: master and workers). */
const groups = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL: the run is over or was interrupted). */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        // A group leader takes its own children with it (nginx workers outlive a killed master).
        process.kill(groups.has(child) ? -child.pid : child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  groups.clear();
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

export interface StartOptions {
  /** Pin to this core with taskset (ignored without taskset or on one core). */
  core?: number;
  /** Raise the open-files limit to this (up to the hard limit) before exec. */
  fdLimit?: number;
  env?: NodeJS.ProcessEnv;
  stdio?: SpawnOptions['stdio'];
  /** Start it as the leader of a new process group, so killAll ends its children too. */
  group?: boolean;
}

/**
 * Spawns `cmd args`. The pid is the command's own: `bash -c 'ulimit …; exec …'` and taskset both
 * exec into it, so /proc/<pid> reads the measured process.
 */
export function start(cmd: string, args: string[], options: StartOptions = {}): ChildProcess {
  let argv = [cmd, ...args];
  if (options.core !== undefined && hasTaskset) argv = ['taskset', '-c', String(options.core), ...argv];
  if (options.fdLimit !== undefined) {
    // Raise the soft limit as far as allowed: to fdLimit, else to the hard limit.
    const script = `ulimit -n ${options.fdLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
    argv = ['bash', '-c', script, 'bash', ...argv];
  }
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...options.env }, stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'], detached: options.group ?? false });
  children.add(child);
  if (options.group) groups.add(child);
  child.once('exit', () => {
    children.delete(child);
    groups.delete(child);
  });
  return child;
}

/** Starts a TypeScript file of the suite (`node --import tsx <file>`). */
export function startTs(file: string, args: string[], options: StartOptions = {}): ChildProcess {
  return start(process.execPath, ['--import', 'tsx', `${ROOT}/${file}`, ...args], options);
}

/** Resolves with the first match of `pattern` in the child's output; rejects if it exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    let other = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${text}${other}`)), timeoutMs);
    const onData = (c: Buffer): void => {
      text += c;
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        child[stream]!.off('data', onData);
        resolve(m);
      }
    };
    child[stream]!.on('data', onData);
    const otherStream = stream === 'stdout' ? child.stderr : child.stdout;
    otherStream?.on('data', (c: Buffer) => {
      if (other.length < 4000) other += c;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before printing ${pattern}: ${text}${other}`));
    });
  });
}

/** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
export async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a process in clock ticks (100 per second on Linux). */
export function cpuTicks(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Resident set size of a process, in KiB (VmRSS). */
export function rssKb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The soft open-files limit of a running process. */
export function openFilesLimit(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? (m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1])) : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the largest and the last. */
export function sampleRss(pid: number | undefined, everyMs = 20): { stop(): { maxKb: number; lastKb: number } } {
  let maxKb = rssKb(pid);
  let lastKb = maxKb;
  const timer = setInterval(() => {
    lastKb = rssKb(pid);
    if (lastKb > maxKb) maxKb = lastKb;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      lastKb = rssKb(pid);
      if (lastKb > maxKb) maxKb = lastKb;
      return { maxKb, lastKb };
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
