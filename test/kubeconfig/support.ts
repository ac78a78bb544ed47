/** Helpers for kubeconfig tests: test CAs and running real kubectl on a generated file. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCa } from '../../src/tls/certificates.js';

const run = promisify(execFile);
export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

/** A fresh self-signed CA certificate (PEM). */
export async function testCa(commonName: string): Promise<string> {
  return (await createCa(commonName)).certPem;
}

/** Runs kubectl with `--kubeconfig` pointing at `yamlText` in a temp file; returns stdout. */
export async function kubectl(yamlText: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-kubeconfig-'));
  try {
    const file = join(dir, 'config.yaml');
    await writeFile(file, yamlText, { mode: 0o600 });
    const { stdout } = await run(KUBECTL, ['--kubeconfig', file, ...args], { env, timeout: 30_000 });
    return stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function kubectlJson(yamlText: string, args: string[]): Promise<any> {
  return JSON.parse(await kubectl(yamlText, args));
}

export async function kubectlLines(yamlText: string, args: string[]): Promise<string[]> {
  return (await kubectl(yamlText, args)).split('\n').filter(Boolean).sort();
}
