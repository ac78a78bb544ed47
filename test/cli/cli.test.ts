/**
 * The built `kubegate` binary (docs/reference/commands.md, configuration.md): help, usage errors (exit 2, one line on stderr), and a
 * real `serve` that prints a generated admin password once, serves HTTPS and stops on SIGTERM.
 * `npm test` builds first; run alone, this file builds when `dist/` is missing.
 */
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/gateway.js';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { call } from '../support/gateway.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'kubegate');

interface Outcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment without any KUBEGATE_* variable, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KUBEGATE_') && !k.startsWith('NODE_TEST')) env[k] = v;
  delete env.NODE_OPTIONS;
  return { ...env, ...extra };
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<Outcome>;
}

function start(args: string[], env = cleanEnv()): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<Outcome>((resolve) => child.on('close', (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr })));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs the binary to completion (killed after `timeoutMs`). */
async function run(args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Outcome> {
  const r = start(args, env);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  try {
    return await r.done;
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts a usage/config error: exit 2, nothing on stdout, exactly one line on stderr matching `message`. */
function assertUsageError(out: Outcome, message: RegExp, options: { logsAllowed?: boolean } = {}): void {
  assert.equal(out.exitCode, 2, `exit code (stderr: ${out.stderr})`);
  if (!options.logsAllowed) assert.equal(out.stdout, '');
  const lines = out.stderr.split('\n');
  assert.equal(lines.length, 2, `one line on stderr, got: ${JSON.stringify(out.stderr)}`);
  assert.equal(lines[1], '', 'the line ends with a newline');
  assert.match(lines[0]!, message);
  assert.doesNotMatch(out.stderr, /\bat .*\.js:\d+/, 'no stack trace');
}


async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('kubegate CLI (built binary)', () => {
  before(() => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  });

  it('--help exits 0 and lists every command of docs/reference/commands.md', async () => {
    for (const args of [['--help'], ['-h'], ['help'], []]) {
      const out = await run(args);
      assert.equal(out.exitCode, 0, `kubegate ${args.join(' ')}: ${out.stderr}`);
      assert.equal(out.stderr, '');
      assert.match(out.stdout, /^Usage: kubegate <command>/);
      for (const command of ['serve', 'webhook', 'token', 'render webhook-config', 'render kube-api-auth', 'render impersonator']) {
        assert.match(out.stdout, new RegExp(`^  ${command} `, 'm'), `lists ${command}`);
      }
    }
  });

  it('serve --help exits 0 and lists the flags of docs/reference/configuration.md', async () => {
    const out = await run(['serve', '--help']);
    assert.equal(out.exitCode, 0, out.stderr);
    assert.equal(out.stderr, '');
    assert.match(out.stdout, /^Usage: kubegate serve/);
    for (const flag of ['--listen', '--public-url', '--data-dir', '--database-url', '--tls-cert', '--tls-key', '--certs-dir', '--plain-http', '--trust-proxy', '--admin-password', '--auth-cache-ttl', '--auth-cache-size', '--shutdown-timeout']) {
      assert.match(out.stdout, new RegExp(`^  ${flag}[ =]`, 'm'), `documents ${flag}`);
    }
  });

  it('an unknown command exits 2 with one line on stderr', async () => {
    assertUsageError(await run(['frobnicate']), /unknown command "frobnicate"/);
    assertUsageError(await run(['render', 'nothing']), /unknown command "render nothing"/);
  });

  // Issue 15, README and CLI truthfulness: what a new user typed.
  it('render (and cluster) without a subcommand list their subcommands on stderr and exit 2', async () => {
    const out = await run(['render']);
    assert.equal(out.exitCode, 2);
    assert.equal(out.stdout, '');
    const lines = out.stderr.trim().split('\n');
    assert.equal(lines[0], 'kubegate render: give a subcommand:');
    assert.deepEqual(lines.slice(1).map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')), ['kubegate render webhook-config', 'kubegate render kube-api-auth', 'kubegate render agent', 'kubegate render impersonator', 'kubegate render rbac']);
    const cluster = await run(['cluster']);
    assert.equal(cluster.exitCode, 2);
    assert.match(cluster.stderr, /^kubegate cluster: give a subcommand:\n {2}kubegate cluster add /);
  });

  it('--version prints the version of package.json and exits 0', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const out = await run(['--version']);
    assert.deepEqual([out.exitCode, out.stdout, out.stderr], [0, `kubegate ${version}\n`, '']);
  });

  it("an unknown option says where the flags are: see 'kubegate <cmd> --help'", async () => {
    assertUsageError(await run(['serve', '--bogus']), /^kubegate serve: Unknown option '--bogus'; see 'kubegate serve --help'$/);
    assertUsageError(await run(['render', 'impersonator', '--bogus']), /; see 'kubegate render impersonator --help'$/);
  });

  it('webhook names every missing required flag at once', async () => {
    assertUsageError(await run(['webhook'], cleanEnv({})), /^kubegate webhook: --gateway, --cluster and --agent-token-file are required$/);
    assertUsageError(await run(['webhook', '--gateway', 'https://gw.example.com'], cleanEnv({})), /^kubegate webhook: --cluster and --agent-token-file are required$/);
  });

  it('serve --listen nope exits 2 with one line naming --listen', async () => {
    assertUsageError(await run(['serve', '--listen', 'nope']), /--listen/);
  });

  it('a --data-dir that cannot be created exits 2 with one line, even under /proc', async () => {
    assertUsageError(await run(['serve', '--data-dir', '/proc/kubegate/data', '--listen', '127.0.0.1:0']), /--data-dir.*\/proc\/kubegate\/data/);
  });

  it('serve --auth-cache-ttl 5x exits 2 with one line naming --auth-cache-ttl', async () => {
    assertUsageError(await run(['serve', '--auth-cache-ttl', '5x']), /--auth-cache-ttl.*5x/);
  });

  it('bad config from the environment and unknown flags exit 2 with one line', async () => {
    assertUsageError(await run(['serve'], cleanEnv({ KUBEGATE_SHUTDOWN_TIMEOUT: 'later' })), /--shutdown-timeout \(KUBEGATE_SHUTDOWN_TIMEOUT\)/);
    assertUsageError(await run(['serve', '--no-such-flag']), /--no-such-flag/);
    assertUsageError(await run(['serve', '--database-url', 'mysql://db']), /--database-url/);
  });

  describe('serve', () => {
    let dir: string;
    let port: number;
    let args: string[];
    let running: Running | undefined;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kubegate-cli-'));
      port = await freePort();
      args = [
        'serve',
        '--listen', `127.0.0.1:${port}`,
        '--public-url', `https://localhost:${port}`,
        '--data-dir', join(dir, 'data'),
        '--certs-dir', join(dir, 'certs'),
        '--audit-log', join(dir, 'audit.log'),
        '--shutdown-timeout', '2s',
        // No balancer to tell: stop listening at once on SIGTERM.
        '--shutdown-grace', '0s',
      ];
    });
    after(async () => {
      if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });

    async function healthz(): Promise<number> {
      const ca = await readFile(join(dir, 'certs', 'ca.crt'), 'utf8');
      const agent = new Agent({ ca, keepAlive: false });
      try {
        return await waitFor('/healthz', async () => (await call({ url: `https://127.0.0.1:${port}`, agent }, 'GET', '/healthz')).status);
      } finally {
        agent.destroy();
      }
    }

    it('prints a generated admin password once on stderr, serves HTTPS, and exits 0 on SIGTERM', async () => {
      running = start(args);
      const line = await waitFor('the password line', async () => running!.stderr().split('\n').find((l) => /password/.test(l)));
      const password = /with password (\S+)/.exec(line)?.[1];
      assert.ok(password && password.length >= 16, `a generated password in: ${line}`);
      await waitFor('ca.crt', async () => (existsSync(join(dir, 'certs', 'ca.crt')) ? true : undefined));

      assert.equal(await healthz(), 200);
      const ca = await readFile(join(dir, 'certs', 'ca.crt'), 'utf8');
      const agent = new Agent({ ca, keepAlive: false });
      try {
        const gw = { url: `https://127.0.0.1:${port}`, agent };
        const login = await call(gw, 'POST', '/v1/login', { body: { username: 'admin', password } });
        assert.equal(login.status, 201, login.text);
        assert.equal((await call({ url: `https://localhost:${port}`, agent }, 'GET', '/readyz')).status, 200);
      } finally {
        agent.destroy();
      }

      running.child.kill('SIGTERM');
      const out = await running.done;
      assert.equal(out.signal, null);
      assert.equal(out.exitCode, 0, `exit code (stderr: ${out.stderr})`);
      assert.equal(out.stderr.split(password).length - 1, 1, 'the password is printed exactly once');
      assert.equal(out.stderr.trim().split('\n').length, 1, `stderr holds only the password line: ${out.stderr}`);
      assert.equal(out.stdout.includes(password), false, 'the password is not in the logs');
      assert.equal((await readFile(join(dir, 'audit.log'), 'utf8')).includes(password), false, 'nor in the audit log');
    });

    it('does not print a password again when restarted on the same data', async () => {
      running = start(args);
      assert.equal(await healthz(), 200);
      running.child.kill('SIGTERM');
      const out = await running.done;
      assert.equal(out.exitCode, 0, out.stderr);
      assert.doesNotMatch(out.stderr, /password/);
    });

    it('unreadable or malformed --tls-cert/--tls-key files exit 2 with one line naming the flags', async () => {
      const common = ['serve', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--admin-password', 'not-used-here'];
      const missing = await run([...common, '--tls-cert', join(dir, 'missing.crt'), '--tls-key', join(dir, 'missing.key')]);
      assertUsageError(missing, /--tls-cert\/--tls-key .*ENOENT.*missing\.(crt|key)/, { logsAllowed: true });
      await writeFile(join(dir, 'junk.pem'), 'not a certificate\n');
      const junk = await run([...common, '--tls-cert', join(dir, 'junk.pem'), '--tls-key', join(dir, 'junk.pem')]);
      assertUsageError(junk, /--tls-cert\/--tls-key .*PEM/, { logsAllowed: true });
      // A certificate with someone else's key.
      await writeFile(join(dir, 'other.key'), (await readFile(join(dir, 'certs', 'ca.key'), 'utf8')));
      const mismatch = await run([...common, '--tls-cert', join(dir, 'certs', 'server.crt'), '--tls-key', join(dir, 'other.key')]);
      assertUsageError(mismatch, /--tls-cert\/--tls-key .*mismatch/i, { logsAllowed: true });
    });

    it('a port in use exits 2 with one line naming --listen', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      try {
        const busy = (blocker.address() as AddressInfo).port;
        const out = await run(['serve', '--listen', `127.0.0.1:${busy}`, '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--audit-log', join(dir, 'audit.log')]);
        // Logs (stdout) may have started; the error is still one line on stderr.
        assertUsageError(out, /--listen.*EADDRINUSE/, { logsAllowed: true });
      } finally {
        blocker.close();
      }
    });
  });
});
