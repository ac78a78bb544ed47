/**
 * The docker-compose demo (issue 6). There is no Docker engine here, so the files are checked
 * statically, and the setup script runs for real against a gateway and the kube-apiserver double.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { call } from '../support/gateway.js';
import { kubectl, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { ADMIN_PASSWORD, reachablePublicUrlFlags } from '../support/gateway.js';

const root = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, any>; volumes: Record<string, unknown> };
const render = (...args: string[]) => execFileSync(process.execPath, [join(root, 'bin/kubegate'), 'render', ...args], { encoding: 'utf8' });

function runScript(path: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', [path], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

function has(cmd: string): boolean {
  return spawnSync(cmd, ['--version']).status === 0;
}

describe('docker-compose demo files', () => {
  it('validates with docker-compose config', () => {
    assert.ok(has('docker-compose'), 'docker-compose is needed (apt-get install docker-compose; .ci/run installs it)');
    const r = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('names only services and volumes that exist, and mounts only files that exist', () => {
    const services = Object.keys(compose.services);
    for (const name of ['postgres', 'gateway-a', 'gateway-b', 'lb', 'k3s', 'kube-api-auth', 'setup']) assert.ok(services.includes(name), name);
    for (const [name, s] of Object.entries(compose.services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) assert.ok(services.includes(d), `${name} depends on missing ${d}`);
      const nm = /^service:(.+)$/.exec(s.network_mode ?? '');
      if (nm) assert.ok(services.includes(nm[1]!), `${name} joins missing ${nm[1]}`);
      for (const v of s.volumes ?? []) {
        const src = String(v).split(':')[0]!;
        if (src.startsWith('./')) {
          if (!src.includes('output')) assert.ok(existsSync(join(root, src)), `${name} mounts missing ${src}`);
        } else {
          assert.ok(src in compose.volumes, `${name} uses undeclared volume ${src}`);
        }
      }
      if (s.build) assert.ok(existsSync(join(root, s.build, 'Dockerfile')), `${name} builds without a Dockerfile`);
    }
  });

  it('lines up ports, URLs, cluster ids and file paths across services', () => {
    const s = compose.services;
    const gwEnv = s['gateway-a'].environment;
    const publicUrl = new URL(gwEnv.KUBEGATE_PUBLIC_URL);
    assert.ok(s.lb.ports.includes(`${publicUrl.port}:8443`), 'the balancer publishes the public URL port');
    assert.equal(s['gateway-b'].environment.KUBEGATE_DATABASE_URL, gwEnv.KUBEGATE_DATABASE_URL, 'replicas share one database');
    assert.match(gwEnv.KUBEGATE_DATABASE_URL, /@postgres:5432\//);
    const webhookArgs: string[] = s['kube-api-auth'].command;
    assert.ok(webhookArgs.includes(`--cluster=${s.setup.environment.CLUSTER_ID}`), 'webhook and setup agree on the cluster id');
    assert.ok(webhookArgs.includes(`--agent-token-file=${s.setup.environment.AGENT_TOKEN_FILE}`), 'the webhook reads the token the setup writes');
    assert.ok(webhookArgs.includes('--listen=127.0.0.1:6440'));
    assert.equal(s['kube-api-auth'].network_mode, 'service:k3s', 'kube-apiserver reaches 127.0.0.1:6440');
    const apiserverFlag = s.k3s.command.find((c: string) => c.includes('authentication-token-webhook-config-file='));
    const inContainer = apiserverFlag.split('=').pop();
    assert.ok(s.k3s.volumes.some((v: string) => v.startsWith('./demo/kube-api-authn-webhook.yaml:') && v.includes(inContainer)), 'the webhook config is mounted where kube-apiserver reads it');
    assert.ok(s.k3s.command.includes('--kube-apiserver-arg=authentication-token-webhook-version=v1'));
    const cfg = read('demo/haproxy.cfg');
    for (const gw of ['gateway-a', 'gateway-b']) assert.match(cfg, new RegExp(`server ${gw} ${gw}:8443`));
    assert.match(cfg, /option httpchk GET \/readyz/);
  });

  it('ships the webhook config and impersonator RBAC exactly as the render commands print them', () => {
    assert.equal(read('demo/kube-api-authn-webhook.yaml'), render('webhook-config'));
    assert.equal(read('demo/impersonator.yaml'), render('impersonator'));
  });

  it('builds a small non-root image in two stages', () => {
    const df = read('Dockerfile');
    assert.equal((df.match(/^FROM /gm) ?? []).length, 2);
    assert.match(df, /npm prune --omit=dev/);
    assert.match(df, /^USER (?!root|0)\S+/m);
    assert.match(df, /COPY --from=build/);
  });

  it('has a setup script that is valid shell', () => {
    assert.equal(spawnSync('sh', ['-n', join(root, 'demo/setup.sh')]).status, 0);
    assert.ok(has('shellcheck'), 'shellcheck is needed (apt-get install shellcheck; .ci/run installs it)');
    const r = spawnSync('shellcheck', ['-s', 'sh', join(root, 'demo/setup.sh')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout);
  });
});

describe('demo setup script against the kube-apiserver double', () => {
  let world: ProxyWorld;
  let out: string;
  before(async () => {
    world = await startProxyWorld({ clusterId: 'placeholder', flags: await reachablePublicUrlFlags('localhost') });
    out = await mkdtemp(join(tmpdir(), 'kubegate-demo-'));
  });
  after(async () => {
    await world.stop();
    await rm(out, { recursive: true, force: true });
  });

  it('registers the cluster, creates the user, writes the agent token and a kubeconfig that works', async () => {
    const env = {
      PATH: process.env.PATH,
      GATEWAY_URL: world.gw.url.replace('127.0.0.1', 'localhost'),
      GATEWAY_CA_FILE: join(world.gw.dir, 'certs', 'ca.crt'),
      ADMIN_PASSWORD,
      CLUSTER_ID: 'demo',
      CLUSTER_SERVER: world.double.url,
      IMPERSONATOR_TOKEN: world.double.gatewayToken,
      CLUSTER_CA_DATA: Buffer.from(world.double.caPem).toString('base64'),
      DIRECT_ADDRESS: '127.0.0.1:6443',
      DEMO_USER: 'demo',
      DEMO_PASSWORD: 'demo-user-password',
      AGENT_TOKEN_FILE: join(out, 'shared', 'agent-token'),
      OUTPUT_DIR: join(out, 'output'),
    };
    for (let run = 1; run <= 2; run++) {
      // Twice: the script must be safe to re-run. Async: the gateway runs in this process.
      const r = await runScript(join(root, 'demo/setup.sh'), env);
      assert.equal(r.status, 0, `run ${run}: ${r.stderr}`);
    }
    const agent = readFileSync(env.AGENT_TOKEN_FILE, 'utf8').trim();
    assert.match(agent, /^kgt_/);
    assert.equal(statSync(env.AGENT_TOKEN_FILE).mode & 0o777, 0o600);
    const sync = await call(world.gw, 'GET', '/v1/clusters/demo/authn-sync', { token: agent });
    assert.equal(sync.status, 200, 'the webhook can sync with the token the setup wrote');

    const kubeconfig = join(env.OUTPUT_DIR, 'demo.yaml');
    const contexts = await kubectl(kubeconfig, ['config', 'get-contexts', '-o', 'name']);
    assert.deepEqual(contexts.stdout.trim().split('\n').sort(), ['demo', 'demo-cp']);
    const ns = await kubectl(kubeconfig, ['get', 'ns', '-o', 'name']);
    assert.equal(ns.code, 0, ns.stderr);
    assert.match(ns.stdout, /namespace\/default/);
    const whoami = await kubectl(kubeconfig, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(whoami.stdout, 'demo');
  });
});
