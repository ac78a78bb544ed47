/** Runs the built `kubegate webhook` as a child process and talks to it, for end-to-end tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

export const KUBEGATE_BIN = fileURLToPath(new URL('../../bin/kubegate', import.meta.url));

export interface WebhookProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Parsed JSON log lines so far. */
  logs: Array<Record<string, unknown>>;
  /** Raw stdout + stderr text so far. */
  output(): string;
  /** SIGTERM, resolving with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs the built CLI to completion. */
export function runKubegate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KUBEGATE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `kubegate webhook` with `args` and resolves once it logs that it listens. */
export function startWebhookProcess(args: string[], timeoutMs = 10_000): Promise<WebhookProcess> {
  const child = spawn(process.execPath, [KUBEGATE_BIN, 'webhook', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let text = '';
  let pending = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`webhook did not start: ${text}`));
    }, timeoutMs);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`webhook exited with ${code}: ${text}`));
    });
    child.stderr!.on('data', (c) => (text += c));
    child.stdout!.on('data', (c: Buffer) => {
      text += c;
      pending += c;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'kube-api-auth webhook listening') {
          clearTimeout(timer);
          const url = String(entry.url);
          resolve({
            child,
            url,
            port: Number(new URL(url).port),
            logs,
            output: () => text,
            stop: async () => {
              if (child.exitCode === null) child.kill('SIGTERM');
              return exited;
            },
          });
        }
      }
    });
  });
}

/** POSTs a TokenReview to the webhook and returns the status code and parsed answer. */
export function tokenReview(webhookUrl: string, token: string, apiVersion = 'authentication.k8s.io/v1'): Promise<{ code: number; body: any }> {
  const payload = JSON.stringify({ apiVersion, kind: 'TokenReview', spec: { token } });
  return new Promise((resolve, reject) => {
    const req = request(`${webhookUrl}/v1/authenticate`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ code: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** GET `/healthz` status code. */
export function healthz(webhookUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(`${webhookUrl}/healthz`, (res) => {
      res.resume();
      resolve(res.statusCode!);
    })
      .on('error', reject)
      .end();
  });
}

/** Polls `check` every 100 ms until it returns true; resolves with the elapsed ms, rejects after `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
