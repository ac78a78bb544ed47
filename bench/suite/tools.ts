/**
 * The Debian tools the suite drives (wrk, nginx), installed with apt when missing, and the
 * versions of everything that shapes the figures, for the report.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

function has(cmd: string, versionFlag: string): boolean {
  const r = spawnSync(cmd, [versionFlag], { encoding: 'utf8' });
  return !r.error;
}

/** Installs the Debian packages of commands that are missing; throws with the apt output if that fails. */
export function ensureTools(tools: Array<{ command: string; versionFlag: string; pkg: string }>): void {
  const missing = tools.filter((t) => !has(t.command, t.versionFlag));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => t.pkg))];
  process.stderr.write(`bench: ${missing.map((t) => t.command).join(', ')} not found; installing Debian package(s) ${pkgs.join(' ')} with apt-get (needs root and network)…\n`);
  const sudo = process.getuid?.() !== 0;
  const run = (args: string[]) => {
    const argv = sudo ? ['sudo', ...args] : args;
    return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  let r = run(['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs]);
  if (r.status !== 0) {
    run(['apt-get', 'update']);
    r = run(['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs]);
  }
  const still = missing.filter((t) => !has(t.command, t.versionFlag));
  if (r.status !== 0 || still.length > 0) {
    throw new Error(`bench: could not install ${pkgs.join(' ')} (apt-get install -y ${pkgs.join(' ')}):\n${(r.stderr || r.stdout || '').slice(-2000)}`);
  }
  process.stderr.write(`bench: installed ${pkgs.join(' ')}\n`);
}

/** The Debian packages the suite needs: wrk (load) and nginx (the baseline proxy). */
export const REQUIRED_TOOLS = [
  { command: 'wrk', versionFlag: '--version', pkg: 'wrk' },
  { command: 'nginx', versionFlag: '-v', pkg: 'nginx' },
  // Scenario 9: HTTP/2 load (wrk speaks HTTP/1.1 only).
  { command: 'h2load', versionFlag: '--version', pkg: 'nghttp2-client' },
];

export const hasHyperfine = (): boolean => has('hyperfine', '--version');

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return 'not installed';
  return `${r.stdout}${r.stderr}`.split('\n')[0]!.trim();
}

export interface Machine {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx: string;
  wrk: string;
  hyperfine: string;
  openFilesHardLimit: string;
}

/** What the figures were measured on. */
export function describeMachine(): Machine {
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    nginx: firstLine('nginx', ['-v']).replace(/^nginx version: /, ''),
    wrk: firstLine('wrk', ['--version']).replace(/ Copyright.*$/, ''),
    hyperfine: firstLine('hyperfine', ['--version']),
    openFilesHardLimit: spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim(),
  };
}

/** The 1-, 5- and 15-minute load averages, rounded. */
export function load(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [a!, b!, c!].map((x) => Math.round(x * 100) / 100) as [number, number, number];
}
