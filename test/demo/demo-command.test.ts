/**
 * `kubegate demo` (issue 20) as a newcomer runs it: the built command, then real kubectl with the
 * kubeconfig it printed, through the gateway and through the direct door, the direct door with
 * the gateway stopped, Ctrl-C, a second run keeping its state, and --reset.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { kubectl } from '../support/cluster.js';
import { freePort } from '../support/ports.js';

const BIN = new URL('../../bin/kubegate', import.meta.url).pathname;

interface RunningDemo {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with stdout once it matches `re` (rejects if the process exits first). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

function startDemoProcess(args: string[]): RunningDemo {
  const child = spawn(process.execPath, [BIN, 'demo', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: 'pipe' });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (c) => {
    out += c;
    for (const w of waiters) w();
  });
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    for (const w of waiters) w();
    resolve(code);
  }));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(out)) {
            cleanup();
            resolve(out);
          } else if (child.exitCode !== null) {
            cleanup();
            reject(new Error(`kubegate demo exited (${child.exitCode}) before printing ${re}: ${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`kubegate demo did not print ${re} within ${timeoutMs} ms: ${out}\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** What the instructions say, read back the way a newcomer would copy it. */
function printed(out: string) {
  const kubeconfig = /Kubeconfig\s+(\S+)/.exec(out)?.[1];
  const login = /Log in as\s+demo \/ (\S+)\s+\(administrator: admin \/ (\S+)\)/.exec(out);
  const ui = /Web UI\s+(https:\/\/\S+)/.exec(out)?.[1];
  const commands = [...out.matchAll(/^ {2}(kubectl .+)$/gm)].map((m) => m[1]!);
  assert.ok(kubeconfig && login && ui, out);
  return { kubeconfig, demoPassword: login[1]!, adminPassword: login[2]!, ui, commands };
}

/** Runs a printed kubectl line (split on spaces: the printed paths have none). */
const runPrinted = (line: string) => {
  const [, flag, file, ...rest] = line.split(' ');
  assert.equal(flag, '--kubeconfig');
  return kubectl(file!, rest);
};

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

describe('kubegate demo', { timeout: 240_000 }, () => {
  let root: string;
  let dataDir: string;
  let ports: { gateway: number; cluster: number; webhook: number };
  let args: string[];
  let running: RunningDemo | undefined;

  const stopDemo = async (demo: RunningDemo): Promise<number | null> => {
    demo.child.kill('SIGINT');
    return demo.exited;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'kubegate-demo-'));
    dataDir = join(root, 'demo-data');
    ports = { gateway: await freePort(), cluster: await freePort(), webhook: await freePort() };
    args = ['--data-dir', dataDir, '--listen', `127.0.0.1:${ports.gateway}`, '--cluster-port', String(ports.cluster), '--webhook-port', String(ports.webhook)];
  });

  after(async () => {
    if (running && running.child.exitCode === null) await stopDemo(running);
    await rm(root, { recursive: true, force: true });
  });

  let first: ReturnType<typeof printed>;

  it('prints the UI URL, the passwords, a kubeconfig and commands that work with real kubectl through the gateway', async () => {
    running = startDemoProcess(args);
    const out = await running.waitFor(/Logs: /);
    first = printed(out);
    assert.equal(first.ui, `https://localhost:${ports.gateway}/`);
    assert.match(out, /IMITATION/);
    assert.match(out, /not a real\s+cluster/);
    assert.equal(first.commands.length, 4, out);
    const [getNs, whoami, exec, direct] = first.commands as [string, string, string, string];
    assert.match(getNs, / get ns$/);
    assert.match(direct, /--context demo-imitation-direct auth whoami$/);

    const ns = await runPrinted(getNs);
    assert.equal(ns.code, 0, ns.stderr);
    assert.match(ns.stdout, /^default\s+Active/m);
    const me = await runPrinted(`${whoami} -o json`);
    assert.equal(me.code, 0, me.stderr);
    assert.equal(JSON.parse(me.stdout).status.userInfo.username, 'demo');
    const ran = await runPrinted(exec);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, 'demo\n', 'the container saw the impersonated user');

    // The kubeconfig names the imitation for what it is, and its main context goes to the gateway.
    const config = parse(readFileSync(first.kubeconfig, 'utf8'));
    assert.deepEqual(config.contexts.map((c: { name: string }) => c.name), ['demo-imitation', 'demo-imitation-direct']);
    assert.equal(config['current-context'], 'demo-imitation');
    assert.equal(config.clusters[0].cluster.server, `https://localhost:${ports.gateway}/k8s/clusters/demo`);
    assert.equal(config.clusters[1].cluster.server, `https://127.0.0.1:${ports.cluster}`);
  });

  it('the direct context works, and keeps working with the gateway stopped; "start" brings the gateway back', async () => {
    const [getNs, , , direct] = first.commands as [string, string, string, string];
    const whoDirect = await runPrinted(`${direct} -o json`);
    assert.equal(whoDirect.code, 0, whoDirect.stderr);
    assert.equal(JSON.parse(whoDirect.stdout).status.userInfo.username, 'demo');

    running!.child.stdin.write('stop\n');
    await running!.waitFor(/gateway stopped/);
    assert.ok(await refused(ports.gateway), 'the gateway no longer listens');
    const viaGateway = await runPrinted(getNs);
    assert.notEqual(viaGateway.code, 0);
    const stillDirect = await runPrinted(`${direct} -o json`);
    assert.equal(stillDirect.code, 0, stillDirect.stderr);
    assert.equal(JSON.parse(stillDirect.stdout).status.userInfo.username, 'demo');
    const nsDirect = await kubectl(first.kubeconfig, ['--context', 'demo-imitation-direct', 'get', 'ns', 'default']);
    assert.equal(nsDirect.code, 0, nsDirect.stderr);

    running!.child.stdin.write('start\n');
    await running!.waitFor(/gateway started/);
    const back = await runPrinted(getNs);
    assert.equal(back.code, 0, back.stderr);
  });

  it('Ctrl-C stops the gateway, the webhook and the imitation', async () => {
    const code = await stopDemo(running!);
    assert.equal(code, 0, running!.stderr());
    assert.match(running!.stdout(), /kubegate demo: stopped/);
    for (const port of Object.values(ports)) assert.ok(await refused(port), `port ${port} is closed`);
  });

  it('a second run keeps the passwords and writes a kubeconfig that works; the previous one is revoked', async () => {
    const previous = readFileSync(first.kubeconfig, 'utf8');
    running = startDemoProcess(args);
    const second = printed(await running.waitFor(/Logs: /));
    assert.equal(second.demoPassword, first.demoPassword);
    assert.equal(second.adminPassword, first.adminPassword);
    const res = await kubectl(second.kubeconfig, ['auth', 'whoami']);
    assert.equal(res.code, 0, res.stderr);
    const direct = await kubectl(second.kubeconfig, ['--context', 'demo-imitation-direct', 'get', 'ns']);
    assert.equal(direct.code, 0, direct.stderr);
    const oldFile = join(root, 'old-kubeconfig.yaml');
    await writeFile(oldFile, previous, { mode: 0o600 });
    const old = await kubectl(oldFile, ['get', 'ns']);
    assert.notEqual(old.code, 0, 'the first run\'s token was revoked');
    assert.match(old.stderr, /Unauthorized|credentials/i);
    assert.equal(await stopDemo(running), 0);
  });

  it('--reset starts from scratch: new passwords, and it all works again', async () => {
    running = startDemoProcess([...args, '--reset']);
    const fresh = printed(await running.waitFor(/Logs: /));
    assert.notEqual(fresh.demoPassword, first.demoPassword);
    assert.notEqual(fresh.adminPassword, first.adminPassword);
    const res = await kubectl(fresh.kubeconfig, ['get', 'ns']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await stopDemo(running), 0);
  });

  it('--reset refuses a directory the demo did not make, and a port in use is one line naming its flag', async () => {
    const foreign = join(root, 'not-a-demo');
    await mkdir(foreign);
    await writeFile(join(foreign, 'precious.txt'), 'keep me');
    const refusedRun = startDemoProcess(['--data-dir', foreign, '--reset', '--listen', `127.0.0.1:${ports.gateway}`]);
    assert.equal(await refusedRun.exited, 2);
    assert.match(refusedRun.stderr(), /^kubegate demo: --reset: .*not made by kubegate demo/);
    assert.ok(existsSync(join(foreign, 'precious.txt')));

    const blocker = (await import('node:net')).createServer();
    await new Promise<void>((resolve) => blocker.listen(ports.cluster, '127.0.0.1', resolve));
    try {
      const busy = startDemoProcess(args);
      assert.equal(await busy.exited, 2);
      assert.match(busy.stderr(), new RegExp(`^kubegate demo: --cluster-port: cannot listen on 127.0.0.1:${ports.cluster}: EADDRINUSE\\n$`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
