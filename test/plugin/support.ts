/** Drives the built `kubegate token` binary (run `npm run build` first) and reads its cache. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const BIN_DIR = resolve(import.meta.dirname, '../../bin');
export const KUBEGATE = join(BIN_DIR, 'kubegate');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `kubegate <args>` with exactly `env` (plus PATH and HOME); stdin is a pipe (not a terminal). */
export function runKubegate(args: string[], env: Record<string, string | undefined>, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [KUBEGATE, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end();
  });
}

export function execInfo(apiVersion: string, interactive = false): string {
  return JSON.stringify({ kind: 'ExecCredential', apiVersion, spec: { interactive } });
}

/** The cache files of a config dir, parsed. */
export function cachedEntries(configDir: string): Array<{ file: string; entry: any }> {
  const dir = join(configDir, 'credentials');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.json')).map((n) => ({ file: join(dir, n), entry: JSON.parse(readFileSync(join(dir, n), 'utf8')) }));
}

/** The one cache entry of a config dir (fails when there is not exactly one). */
export function onlyEntry(configDir: string): { file: string; entry: any } {
  const entries = cachedEntries(configDir);
  if (entries.length !== 1) throw new Error(`expected one cached credential, found ${entries.length}`);
  return entries[0]!;
}
