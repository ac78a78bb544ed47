/**
 * The inside of an isolated cluster (isolated-cluster.ts): runs in a network namespace of its own,
 * with only a loopback device. It starts the kube-apiserver double there, relays the gateway's
 * ports (127.0.0.1:<port> here → a Unix socket → the gateway outside: the only way out), and
 * answers the test's requests on stdin/stdout, one JSON line each: start or kill an agent, read
 * what the double recorded, run kubectl against the double.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startKubeDouble } from '../kube-double/index.js';
import { writeKubeconfig } from '../kube-double/index.js';
import { runProcess } from './run-process.js';

interface Setup {
  dir: string;
  /** Gateway port → the Unix socket that leads to it. */
  relays: Record<string, string>;
  bin: string;
  kubectl: string;
}

const setup = JSON.parse(process.argv[2]!) as Setup;
const ADMIN_TOKEN = 'cluster-admin-token';
const double = await startKubeDouble({ staticTokens: { [ADMIN_TOKEN]: { username: 'kubernetes-admin', groups: ['system:masters'] } } });
writeFileSync(join(setup.dir, 'kube.token'), double.gatewayToken);
writeFileSync(join(setup.dir, 'kube-ca.crt'), double.caPem);
const adminKubeconfig = join(setup.dir, 'cluster-admin.yaml');
await writeKubeconfig(adminKubeconfig, { server: double.url, caPem: double.caPem, token: ADMIN_TOKEN });

for (const [port, path] of Object.entries(setup.relays)) {
  await new Promise<void>((resolve, reject) => {
    const server = createServer((inside) => {
      const outside = connect(path);
      for (const s of [inside, outside]) s.on('error', () => s.destroy());
      inside.pipe(outside).pipe(inside);
      inside.on('close', () => outside.destroy());
      outside.on('close', () => inside.destroy());
    });
    server.once('error', reject);
    server.listen(Number(port), '127.0.0.1', () => resolve());
  });
}

const agents = new Map<string, { child: ChildProcess; log: string[] }>();

type Op = { id: number; op: string; args?: any };
const handlers: Record<string, (args: any) => Promise<unknown> | unknown> = {
  info: () => ({ url: double.url, caPem: double.caPem }),
  startAgent: (a: { name: string; flags: string[] }) => {
    const log: string[] = [];
    const child = spawn(process.execPath, [setup.bin, 'agent', '--kube-api', double.url, '--kube-token-file', join(setup.dir, 'kube.token'), '--kube-ca-file', join(setup.dir, 'kube-ca.crt'), '--health-listen', '127.0.0.1:0', '--agent-id', a.name, ...a.flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH },
    });
    for (const s of [child.stdout!, child.stderr!]) s.on('data', (c) => log.push(...String(c).split('\n').filter(Boolean)));
    agents.set(a.name, { child, log });
    return { pid: child.pid };
  },
  killAgent: (a: { name: string; signal?: NodeJS.Signals }) =>
    new Promise((resolve) => {
      const agent = agents.get(a.name);
      if (!agent || agent.child.exitCode !== null || agent.child.signalCode !== null) return resolve({ already: true });
      agent.child.once('exit', (code, signal) => resolve({ code, signal }));
      agent.child.kill(a.signal ?? 'SIGKILL');
    }),
  agentLog: (a: { name: string }) => agents.get(a.name)?.log ?? [],
  requests: () => double.requests,
  clearRequests: () => void double.clearRequests(),
  activeStreams: () => double.activeStreams(),
  rotateKubeToken: (a: { token: string }) => {
    double.setOptions({ gatewayToken: a.token });
    writeFileSync(join(setup.dir, 'kube.token'), a.token);
  },
  object: (a: { group: string; resource: string; namespace?: string; name: string }) => {
    const gr = { group: a.group, resource: a.resource };
    return double.store.has(gr, a.namespace ?? '', a.name) ? double.store.get(gr, a.namespace ?? '', a.name) : null;
  },
  kubectl: (a: { args: string[]; env?: Record<string, string>; input?: string }) =>
    runProcess(setup.kubectl, ['--kubeconfig', adminKubeconfig, ...a.args], { PATH: process.env.PATH, HOME: setup.dir, ...a.env }, { input: a.input, timeoutMs: 30_000 }),
  stop: async () => {
    for (const { child } of agents.values()) child.kill('SIGKILL');
    await double.stop();
    setImmediate(() => process.exit(0));
  },
};

const reply = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, op, args } = JSON.parse(line) as Op;
  Promise.resolve()
    .then(() => handlers[op]!(args))
    .then(
      (value) => reply({ id, value }),
      (err: Error) => reply({ id, error: err.message }),
    );
});
process.stdin.on('end', () => process.exit(0));
reply({ id: 0, value: 'ready' });
