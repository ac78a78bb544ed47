/**
 * Running the real kubectl from tests: one-shot (`runKubectl`) or long-running (`spawnKubectl`,
 * for `get -w` and `logs -f`). kubectl gets an explicit kubeconfig, a private cache dir and a
 * private HOME so nothing leaks between tests or into the user's ~/.kube.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';

export const KUBECTL_BIN = '/usr/bin/kubectl';

export interface KubectlOptions {
  kubeconfig: string;
  /** Written to stdin, then stdin is closed. Without it stdin is closed at once. */
  stdin?: string;
  /** Kill kubectl (SIGKILL) after this long. Default 15 s. */
  timeoutMs?: number;
  /** Discovery cache directory. Default: `kubectl-cache` beside the kubeconfig. */
  cacheDir?: string;
  bin?: string;
}

export interface KubectlResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const start = (args: string[], options: KubectlOptions): ChildProcess => {
  const home = dirname(options.kubeconfig);
  const child = spawn(
    options.bin ?? KUBECTL_BIN,
    ['--kubeconfig', options.kubeconfig, '--cache-dir', options.cacheDir ?? join(home, 'kubectl-cache'), ...args],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stdin?.end(options.stdin ?? '');
  return child;
};

export interface RunningKubectl {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with stdout once it matches `pattern`; rejects after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Kills kubectl (SIGTERM) and resolves once it has exited. */
  stop(): Promise<KubectlResult>;
  /** Resolves when kubectl exits by itself. */
  exited: Promise<KubectlResult>;
}

/** Starts kubectl and lets the test watch its output while it runs. */
export const spawnKubectl = (args: string[], options: KubectlOptions): RunningKubectl => {
  const child = start(args, options);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    for (const listener of [...listeners]) listener();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<KubectlResult>((resolve) => {
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr }));
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  void exited.then(() => clearTimeout(killer));

  const waitForOutput = (pattern: RegExp, timeoutMs = 5000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pattern.test(stdout)) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(stdout);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`kubectl ${args.join(' ')}: no output matching ${pattern} within ${timeoutMs} ms; stdout=${JSON.stringify(stdout)} stderr=${JSON.stringify(stderr)}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForOutput,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    exited,
  };
};

/** Runs kubectl to completion. */
export const runKubectl = (args: string[], options: KubectlOptions): Promise<KubectlResult> => spawnKubectl(args, options).exited;
