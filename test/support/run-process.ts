/**
 * Running a command-line client (kubectl, any version) from tests: to completion, or long-running
 * until its output matches. One implementation for test/support/cluster.ts and
 * test/clients/kubectl-bin.ts; the kube-apiserver double keeps its own, as it stands alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Killed (SIGKILL) after `timeoutMs`. */
  timedOut: boolean;
}

export interface RunOptions {
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** SIGKILL after this long. */
  timeoutMs?: number;
}

/** Runs `bin` to completion with exactly `env`; rejects only when it cannot be started. */
export function runProcess(bin: string, args: string[], env: NodeJS.ProcessEnv, options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface RunningProcess {
  child: ChildProcess;
  /** Resolves with stdout once it matches; rejects on timeout (after SIGKILL) or an earlier exit. */
  matched: Promise<string>;
  /** Everything written to stdout so far. */
  output(): string;
  /** SIGTERM. */
  stop(): void;
}

/** Starts a long-running `bin` (a watch, `logs -f`) and waits for `match` in its stdout. */
export function runUntil(bin: string, args: string[], env: NodeJS.ProcessEnv, match: RegExp, timeoutMs: number): RunningProcess {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const what = `${bin} ${args.join(' ')}`;
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const matched = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out waiting for ${match} from ${what}; stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (c) => {
      stdout += c;
      if (match.test(stdout)) {
        clearTimeout(timer);
        resolve(stdout);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code} before ${match}; stdout=${stdout} stderr=${stderr}`));
    });
  });
  // A caller that fails before awaiting `matched` must not leave an unhandled rejection behind.
  matched.catch(() => {});
  return { child, matched, output: () => stdout, stop: () => child.kill('SIGTERM') };
}
