/**
 * The Go peer (bench/go-peer): built with the newest Go on the machine (`go` on PATH, else Debian's
 * /usr/lib/go-1.*), run with GOMAXPROCS=1 like the gateway's one process. Undefined, with the
 * reason, when no Go is installed (the suite then reports the peer as skipped).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, start, waitForLine, type StartOptions } from './processes.js';

/** The go binary to build with: the newest Debian golang-1.x, else whatever `go` is on PATH. */
export function findGo(): string | undefined {
  const debian = existsSync('/usr/lib')
    ? readdirSync('/usr/lib')
        .filter((d) => /^go-1\.\d+$/.test(d) && existsSync(join('/usr/lib', d, 'bin/go')))
        .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
    : [];
  if (debian.length) return join('/usr/lib', debian.at(-1)!, 'bin/go');
  return spawnSync('go', ['version']).status === 0 ? 'go' : undefined;
}

export interface GoPeer {
  process: ChildProcess;
  port: number;
  /** `go version` of the compiler that built it. */
  version: string;
}

/** Builds and starts the peer in front of the downstream, or says why it cannot. */
export async function startGoPeer(workDir: string, downstreamPort: number, token: string, options: StartOptions = {}): Promise<GoPeer | { skipped: string }> {
  const go = findGo();
  if (!go) return { skipped: 'no Go installed (apt-get install -t bookworm-backports golang-1.23-go)' };
  // Local toolchain only (no download), no module proxy: the peer uses the standard library alone.
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', GOPROXY: 'off', GOCACHE: join(workDir, 'gocache') };
  const binary = join(workDir, 'go-peer');
  const built = spawnSync(go, ['build', '-o', binary, '.'], { cwd: join(ROOT, 'bench/go-peer'), env, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building bench/go-peer failed: ${built.stderr}`);
  const version = spawnSync(go, ['version'], { env, encoding: 'utf8' }).stdout.trim();
  const child = start(binary, ['0', String(downstreamPort), workDir, token], { ...options, env: { GOMAXPROCS: '1', ...options.env } });
  child.stderr!.resume();
  const port = Number((await waitForLine(child, /listening (\d+)/))[1]);
  return { process: child, port, version };
}
