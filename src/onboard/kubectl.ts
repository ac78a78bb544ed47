/**
 * kubectl with the user's own kubeconfig and context, for `kubegate cluster add`: whatever
 * credentials the kubeconfig holds (client certificates, exec plugins, tokens) stay kubectl's
 * business and are never read or stored by kubegate, except the server URL and CA of the cluster.
 */
import { spawn } from 'node:child_process';

export interface KubectlTarget {
  /** kubectl binary. */
  bin: string;
  /** undefined: kubectl's default ($KUBECONFIG, else ~/.kube/config). */
  kubeconfig: string | undefined;
  /** undefined: the kubeconfig's current context. */
  context: string | undefined;
}

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against the target; `input` goes to stdin. Never rejects for a non-zero exit. */
export function runKubectl(target: KubectlTarget, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  const full = [...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []), ...(target.context ? ['--context', target.context] : []), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(target.bin, full, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error(`${target.bin} not found; install kubectl or pass --kubectl`) : err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** kubectl's own error line (the last non-empty stderr line), for messages. */
export const kubectlError = (r: KubectlResult): string =>
  r.stderr.trim().split('\n').filter(Boolean).at(-1)?.replace(/^error: /, '') ?? `kubectl exited with ${r.code}`;
