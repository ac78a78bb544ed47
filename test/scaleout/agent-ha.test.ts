/**
 * Agent clusters across replicas (issue 17): two replicas on PostgreSQL behind HAProxy, the
 * cluster's agent (in a network namespace the replicas have no route into) connected through the
 * balancer to one of them. Requests landing on either replica work (the other forwards its
 * streams over the replicas' link); when the agent's replica goes away, the agent reconnects
 * through the balancer and the cluster works again within seconds, with nothing left pointing at
 * the replica that left.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { ADMIN_PASSWORD, call, createUser, freePort, login, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startIsolatedCluster, type IsolatedCluster } from '../support/isolated-cluster.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { pollUntil } from './support.js';
import { connect as tlsConnect } from 'node:tls';
import { newNonce, proof } from '../../src/agents/peer-auth.js';

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

describe('an agent cluster behind two replicas on PostgreSQL and HAProxy', () => {
  let pg: TestPostgres;
  let a: TestGateway;
  let b: TestGateway;
  let haproxy: ChildProcess;
  let cluster: IsolatedCluster;
  let lbUrl: string;
  let admin: string;
  let alice: string;
  let agentToken: string;
  let databaseUrl: string;

  const holder = (): TestGateway | undefined => [a, b].find((g) => g.logs.some((l) => l.includes('"msg":"agent connected"')));
  const pods = (gw: TestGateway) => call(gw, 'GET', '/k8s/clusters/edge/api/v1/namespaces/default/pods', { token: alice });

  before(async () => {
    assert.equal(spawnSync('haproxy', ['-v']).status, 0, 'haproxy is needed (apt-get install haproxy; .ci/run installs it)');
    pg = await startTestPostgres();
    databaseUrl = await pg.createDatabase('agent_ha');
    const lbPort = await freePort();
    lbUrl = `https://127.0.0.1:${lbPort}`;
    const [portA, portB] = [await freePort(), await freePort()];
    const common = ['--database-url', databaseUrl, '--public-url', lbUrl, '--shutdown-grace', '300ms', '--shutdown-timeout', '2s'];
    a = await startTestGateway([...common, '--listen', `127.0.0.1:${portA}`]);
    b = await startTestGateway([...common, '--listen', `127.0.0.1:${portB}`, '--certs-dir', join(a.dir, 'certs'), '--encryption-key-file', join(a.dir, 'data', 'encryption.key')]);
    const cfg = join(a.dir, 'haproxy.cfg');
    await writeFile(cfg, haproxyConfig(lbPort, [`127.0.0.1:${portA}`, `127.0.0.1:${portB}`]));
    haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
    const lb = { url: lbUrl, agent: new Agent({ ca: a.caPem, keepAlive: false }) };
    const up = await pollUntil(() => call(lb, 'GET', '/readyz').catch(() => ({ status: 0 })), (r) => r.status === 200, { timeoutMs: 10_000 });
    assert.ok(up.ok, 'the balancer answers');

    admin = await login(a, 'admin', ADMIN_PASSWORD);
    const reg = await call(a, 'POST', '/v1/clusters', { token: admin, body: { id: 'edge', connection: 'agent' } });
    assert.equal(reg.status, 201, reg.text);
    agentToken = reg.body.agentToken;
    await createUser(a, admin, { username: 'alice', password: 'alice-password' });
    await call(a, 'PUT', '/v1/clusters/edge/members', { token: admin, body: { principal: 'user:alice', role: 'member' } });
    alice = await login(b, 'alice', 'alice-password');
    // The cluster reaches only the balancer.
    cluster = await startIsolatedCluster([lbPort]);
    await cluster.startAgent('agent-1', { gateway: lbUrl, agentToken, gatewayCaPem: a.caPem, flags: ['--agent-id', 'agent-1'] });
  });

  after(async () => {
    await cluster?.stop();
    haproxy?.kill();
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await pg?.destroy();
  });

  it('serves the cluster from both replicas while its agent is connected to one', async () => {
    const connected = await pollUntil(async () => holder(), (g) => g !== undefined, { timeoutMs: 10_000 });
    assert.ok(connected.ok, 'the agent connected to a replica');
    for (const gw of [a, b]) {
      const r = await pollUntil(() => pods(gw), (x) => x.status === 200, { timeoutMs: 5_000 });
      assert.ok(r.ok, `${gw === holder() ? 'the holder' : 'the other replica'} answered ${r.value.status}: ${r.value.text}`);
      const status = (await call(gw, 'GET', '/v1/clusters/edge', { token: admin })).body.status;
      assert.equal(status.agent.connected, true);
      assert.equal(status.agent.replicas, 1);
    }
    assert.equal([a, b].filter((g) => g.logs.some((l) => l.includes('"msg":"agent connected"'))).length, 1, 'one agent connection in all');
    // The other replica forwarded: the request still arrived as alice, with the agent's credential.
    const last = (await cluster.requests()).at(-1)!;
    assert.equal(last.effective?.username, 'alice');
  });

  it('refuses a peer link whose proof is not made with the replicas\' secret on this very TLS session', async () => {
    const { rows } = await pg.query<{ id: string; peer_url: string }>('select id, peer_url from gateway_replicas', [], databaseUrl);
    const target = rows.find((r) => r.peer_url === a.url.replace(/\/$/, ''))!;
    assert.ok(target, 'replica A registered its peer URL');
    const answer = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: Number(new URL(a.url).port), rejectUnauthorized: false }, () => {
        const nonce = newNonce();
        // Right shape, wrong secret, and no binding to this session.
        const forged = proof('not-the-secret', 'client', 'r-intruder', target.id, nonce, '');
        s.write(`GET /v1/peers/connect HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: kubegate-tunnel.v1\r\nkubegate-peer-id: r-intruder\r\nkubegate-peer-target: ${target.id}\r\nkubegate-peer-nonce: ${nonce}\r\nkubegate-peer-proof: ${forged}\r\n\r\n`);
      });
      let text = '';
      s.on('data', (c) => (text += c));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 403 /);
    assert.ok(a.logs.some((l) => l.includes('refused a peer link')));
  });

  it('moves the agent to the other replica within seconds when its replica goes away', async () => {
    const gone = holder()!;
    const survivor = gone === a ? b : a;
    await gone.close();
    const r = await pollUntil(() => pods(survivor), (x) => x.status === 200 && survivor.logs.some((l) => l.includes('"msg":"agent connected"')), { timeoutMs: 8_000, everyMs: 100 });
    assert.ok(r.ok, `the survivor answered ${r.value.status}: ${r.value.text}`);
    const status = (await call(survivor, 'GET', '/v1/clusters/edge', { token: admin })).body.status;
    assert.equal(status.agent.connected, true);
    assert.equal(status.agent.replicas, 1, 'nothing counted twice or left from the replica that left');
  });
});
