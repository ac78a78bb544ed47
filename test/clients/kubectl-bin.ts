/**
 * Which kubectl binaries this machine has, and how to run one of them against a kubeconfig with a
 * private HOME and discovery cache (so versions never share a cache written in another's format).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess, runUntil, type RunOptions as ProcessRunOptions, type RunResult } from '../support/run-process.js';

export type { RunResult };

/** Where the Google Cloud SDK keeps its versioned kubectl binaries (`kubectl.1.NN`); KUBECTL_MATRIX_DIR overrides it. */
export const SDK_BIN_DIR = process.env.KUBECTL_MATRIX_DIR ?? '/usr/lib/google-cloud-sdk/bin';
/** Debian's `kubernetes-client` (or whatever `/usr/bin/kubectl` is on this machine). */
export const SYSTEM_KUBECTL = '/usr/bin/kubectl';

export interface KubectlBinary {
  /** A short name for reports: `1.27`, or `1.32 (/usr/bin/kubectl)` for the system one. */
  label: string;
  path: string;
  /** `clientVersion.gitVersion`, e.g. `v1.27.16`. */
  gitVersion: string;
  minor: number;
}

export interface RunOptions extends ProcessRunOptions {
  /** Extra environment (e.g. a feature gate like KUBECTL_REMOTE_COMMAND_WEBSOCKETS). */
  env?: NodeJS.ProcessEnv;
}

/** A kubectl pinned to one binary, kubeconfig, HOME and cache dir. */
export interface Kubectl {
  binary: KubectlBinary;
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-running command (watch, logs -f); `matched` resolves when stdout matches. */
  until(args: string[], match: RegExp, timeoutMs: number): { matched: Promise<string>; stop(): void };
}

/** One command (a version probe, a get): bounded at 15 s unless told otherwise. */
const run = (bin: string, args: string[], env: NodeJS.ProcessEnv, options: ProcessRunOptions = {}): Promise<RunResult> =>
  runProcess(bin, args, env, { ...options, timeoutMs: options.timeoutMs ?? 15_000 });

const parseVersion = (json: string): { gitVersion: string; minor: number } | undefined => {
  try {
    const version = JSON.parse(json).clientVersion as { gitVersion?: string; minor?: string };
    const minor = Number.parseInt(version.minor ?? '', 10);
    return version.gitVersion && Number.isFinite(minor) ? { gitVersion: version.gitVersion, minor } : undefined;
  } catch {
    return undefined;
  }
};

const probe = async (path: string): Promise<{ gitVersion: string; minor: number } | undefined> => {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' };
  const r = await run(path, ['version', '--client', '-o', 'json'], env, { timeoutMs: 10_000 }).catch(() => undefined);
  return r?.code === 0 ? parseVersion(r.stdout) : undefined;
};

/**
 * Every `kubectl.1.NN` in the SDK directory, oldest first, plus `/usr/bin/kubectl` when it is a
 * minor version not already listed (here it is the SDK's 1.32 dispatcher, so it usually is not;
 * on a machine without the SDK binaries it is the whole matrix).
 */
export async function discoverKubectls(): Promise<KubectlBinary[]> {
  const names = await readdir(SDK_BIN_DIR).catch(() => [] as string[]);
  const found: KubectlBinary[] = [];
  for (const name of names.filter((n) => /^kubectl\.1\.\d+$/.test(n))) {
    const path = join(SDK_BIN_DIR, name);
    const version = await probe(path);
    if (version) found.push({ label: `1.${version.minor}`, path, ...version });
  }
  const systemVersion = await probe(SYSTEM_KUBECTL);
  if (systemVersion && !found.some((b) => b.minor === systemVersion.minor)) {
    found.push({ label: `1.${systemVersion.minor} (${SYSTEM_KUBECTL})`, path: SYSTEM_KUBECTL, ...systemVersion });
  }
  return found.sort((a, b) => a.minor - b.minor);
}

/** Binds a binary to a kubeconfig; `home` holds its HOME and discovery cache. */
export function kubectlFor(binary: KubectlBinary, kubeconfig: string, home: string): Kubectl {
  const base = ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'cache')];
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...extra });
  return {
    binary,
    run: (args, options = {}) => run(binary.path, [...base, ...args], env(options.env), options),
    until: (args, match, timeoutMs) => runUntil(binary.path, [...base, ...args], env(), match, timeoutMs),
  };
}
