/**
 * Two replicas on one PostgreSQL behind a real balancer (HAProxy, TLS passthrough, health checks
 * on /readyz) — issue 6: kubectl works through it, changes made on one replica apply on the other,
 * and stopping a replica during a steady stream of requests loses none.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { startKubeDouble, type KubeDouble } from '../kube-double/index.js';
import { ADMIN_PASSWORD, call, createUser, freePort, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { kubectl } from '../support/cluster.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { pollUntil } from './support.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function haproxyConfig(port: number, backends: string[]): string {
  return [
    'global',
    '  maxconn 512',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend kubegate',
    `  bind 127.0.0.1:${port}`,
    '  default_backend gateways',
    'backend gateways',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server check check-ssl verify none inter 200ms fall 1 rise 1',
    ...backends.map((b, i) => `  server gw${i} ${b}`),
    '',
  ].join('\n');
}

describe('two replicas behind HAProxy', () => {
  let pg: TestPostgres;
  let double: KubeDouble;
  let a: TestGateway;
  let b: TestGateway;
  let haproxy: ChildProcess;
  let lbPort: number;
  let lbUrl: string;
  let admin: string;
  let alice: string;

  before(async () => {
    assert.equal(spawnSync('haproxy', ['-v']).status, 0, 'haproxy is needed (apt-get install haproxy; .ci/run installs it)');
    pg = await startTestPostgres();
    const databaseUrl = await pg.createDatabase('balanced');
    double = await startKubeDouble();
    lbPort = await freePort();
    lbUrl = `https://localhost:${lbPort}`;
    const [portA, portB] = [await freePort(), await freePort()];
    const common = ['--database-url', databaseUrl, '--public-url', lbUrl, '--shutdown-grace', '1500ms', '--shutdown-timeout', '5s'];
    a = await startTestGateway([...common, '--listen', `127.0.0.1:${portA}`]);
    // B shares A's certificates: behind TLS passthrough kubectl must see one certificate.
    b = await startTestGateway([...common, '--listen', `127.0.0.1:${portB}`, '--certs-dir', join(a.dir, 'certs'), '--encryption-key-file', join(a.dir, 'data', 'encryption.key')]);
    const cfg = join(a.dir, 'haproxy.cfg');
    await writeFile(cfg, haproxyConfig(lbPort, [`127.0.0.1:${portA}`, `127.0.0.1:${portB}`]));
    haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
    const lb = { url: lbUrl, agent: new Agent({ ca: a.caPem, keepAlive: false }) };
    const up = await pollUntil(() => call(lb, 'GET', '/readyz').catch(() => ({ status: 0 })), (r) => r.status === 200, { timeoutMs: 10_000 });
    assert.ok(up.ok, 'the balancer answers');

    admin = await login(a, 'admin', ADMIN_PASSWORD);
    // Registered through A: B must learn of it without a restart.
    const reg = await call(a, 'POST', '/v1/clusters', {
      token: admin,
      body: { id: 'double', server: double.url, caData: Buffer.from(double.caPem).toString('base64'), credential: { token: double.gatewayToken } },
    });
    assert.equal(reg.status, 201, reg.text);
    await createUser(a, admin, { username: 'alice', password: 'alice-password' });
    await call(a, 'PUT', '/v1/clusters/double/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });
    alice = await login(b, 'alice', 'alice-password');
  });

  after(async () => {
    haproxy?.kill();
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await double?.stop();
    await pg?.destroy();
  });

  it('knows a cluster registered on the other replica at once', async () => {
    const r = await pollUntil(() => call(b, 'GET', '/k8s/clusters/double/api', { token: alice }), (x) => x.status === 200, { timeoutMs: 2_000 });
    assert.ok(r.ok, `B answered ${r.value.status}`);
  });

  it('serves kubectl through the balancer with a kubeconfig from either replica', async () => {
    const file = join(a.dir, 'lb-kubeconfig.yaml');
    const res = await call(b, 'POST', '/v1/clusters/double/kubeconfig', { token: alice });
    assert.equal(res.status, 200);
    await writeFile(file, res.text);
    for (let i = 0; i < 4; i++) {
      // Several runs: round robin sends them to both replicas.
      const r = await kubectl(file, ['get', 'ns', '-o', 'name']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /namespace\/default/);
    }
  });

  it('loses no request while a replica drains and stops', async () => {
    const agent = new Agent({ ca: a.caPem, keepAlive: false });
    const one = () =>
      new Promise<number>((resolve) => {
        const r = request(new URL('/k8s/clusters/double/api/v1/namespaces', lbUrl), { agent, headers: { Authorization: `Bearer ${alice}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
          res.on('error', () => resolve(-1));
        });
        r.on('error', () => resolve(-1));
        r.end();
      });
    const results: number[] = [];
    let running = true;
    const workers = Array.from({ length: 4 }, async () => {
      while (running) results.push(await one());
    });
    await wait(500);
    const stopping = a.close();
    await stopping;
    await wait(500);
    running = false;
    await Promise.all(workers);
    agent.destroy();
    const failed = results.filter((s) => s !== 200);
    assert.ok(results.length > 50, `only ${results.length} requests ran`);
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} requests failed`);
  });
});
