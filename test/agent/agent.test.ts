/**
 * `kubegate agent` against a stand-in gateway that speaks the tunnel protocol directly: what the
 * agent reports on its state stream, that a CONNECT stream goes only to its own kube-apiserver
 * whatever address it names (a gateway cannot use an agent to reach anything else), its health
 * endpoints, and that a refused token is retried without its token ever being logged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { loadAgentConfig } from '../../src/agent/config.js';
import { startAgent, type Agent } from '../../src/agent/agent.js';
import { createLogger } from '../../src/log.js';
import { TUNNEL_PROTOCOL } from '../../src/tunnel/protocol.js';
import { TunnelClient } from '../../src/tunnel/tunnel-client.js';
import { createCertificateAuthority } from '../kube-double/index.js';
import { startKubeDouble, type KubeDouble } from '../kube-double/index.js';
import { pollUntil } from '../scaleout/support.js';

const AGENT_TOKEN = 'kgt_t-aaaaaaaaaaaaaaaa.' + 'b'.repeat(43);

describe('kubegate agent', () => {
  let dir: string;
  let double: KubeDouble;
  let gateway: Server;
  let decoy: TcpServer;
  let decoyConnections = 0;
  let agent: Agent;
  let refuse = false;
  const tunnels: TunnelClient[] = [];
  const logs: string[] = [];
  const states: any[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubegate-agent-'));
    double = await startKubeDouble();
    decoy = createTcpServer((s) => {
      decoyConnections++;
      s.destroy();
    });
    await new Promise<void>((r) => decoy.listen(0, '127.0.0.1', () => r()));
    const pki = await createCertificateAuthority();
    gateway = createHttpsServer({ key: pki.serving.keyPem, cert: pki.serving.certPem });
    gateway.on('upgrade', (req, socket: Duplex) => {
      const ok = !refuse && req.url === '/v1/clusters/edge/agent/connect' && req.headers.authorization === `Bearer ${AGENT_TOKEN}` && req.headers.upgrade === TUNNEL_PROTOCOL;
      if (!ok) return void socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${TUNNEL_PROTOCOL}\r\n\r\n`, () => {
        const tunnel = new TunnelClient(socket);
        tunnel.watchState((s) => states.push(s));
        tunnels.push(tunnel);
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
    const files = { token: join(dir, 'agent.token'), gwCa: join(dir, 'gw-ca.crt'), kubeToken: join(dir, 'kube.token'), kubeCa: join(dir, 'kube-ca.crt') };
    await writeFile(files.token, AGENT_TOKEN);
    await writeFile(files.gwCa, pki.caPem);
    await writeFile(files.kubeToken, double.gatewayToken);
    await writeFile(files.kubeCa, double.caPem);
    const port = (gateway.address() as { port: number }).port;
    const config = loadAgentConfig(
      ['--gateway', `https://127.0.0.1:${port}`, '--cluster', 'edge', '--token-file', files.token, '--gateway-ca-file', files.gwCa, '--kube-api', double.url,
        '--kube-token-file', files.kubeToken, '--kube-ca-file', files.kubeCa, '--health-listen', '127.0.0.1:0', '--agent-id', 'agent-test', '--credentials-reread', '100ms'],
      {},
    );
    const sink = new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) });
    agent = await startAgent(config, createLogger('debug', sink), { backoff: { initialMs: 50, maxMs: 200 } });
    const up = await pollUntil(async () => states.length, (n) => n > 0, { timeoutMs: 5_000 });
    assert.ok(up.ok, 'the agent connected and reported its state');
  });

  after(async () => {
    await agent?.close();
    for (const t of tunnels) t.close();
    gateway?.close();
    decoy?.close();
    await double?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports its kube-apiserver, that server\'s CA and its own ServiceAccount token', () => {
    assert.deepEqual(Object.keys(states[0]).sort(), ['caData', 'server', 'token', 'version']);
    assert.equal(states[0].server, double.url);
    assert.equal(Buffer.from(states[0].caData, 'base64').toString(), double.caPem);
    assert.equal(states[0].token, double.gatewayToken);
  });

  it('pipes every CONNECT stream to its own kube-apiserver, whatever address the stream names', async () => {
    const decoyAddress = `127.0.0.1:${(decoy.address() as { port: number }).port}`;
    const stream = await tunnels.at(-1)!.dial(decoyAddress, AbortSignal.timeout(5_000));
    // TLS end to end over the stream, verified with the double's CA: it is the double that answers.
    const answer = await new Promise<string>((resolve, reject) => {
      const tls = tlsConnect({ socket: stream, ca: double.caPem, host: '127.0.0.1' }, () => {
        tls.write(`GET /version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${double.gatewayToken}\r\nConnection: close\r\n\r\n`);
      });
      let text = '';
      tls.on('data', (c) => (text += c));
      tls.on('end', () => resolve(text));
      tls.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /gitVersion/);
    assert.equal(decoyConnections, 0, 'nothing reached the address the stream named');
  });

  it('sends a new state line when the ServiceAccount token file changes', async () => {
    await writeFile(join(dir, 'kube.token'), 'rotated-token\n');
    const r = await pollUntil(async () => states.at(-1)?.token, (t) => t === 'rotated-token', { timeoutMs: 3_000 });
    assert.ok(r.ok, 'the gateway heard of the new token');
  });

  it('is ready while connected; reconnects after the tunnel closes; keeps retrying a refused token without logging it', async () => {
    const readyz = () => fetch(`${agent.healthUrl}/readyz`).then((r) => r.status);
    assert.equal(await readyz(), 200);
    assert.equal((await fetch(`${agent.healthUrl}/healthz`)).status, 200);
    const before = tunnels.length;
    tunnels.at(-1)!.close();
    const again = await pollUntil(async () => tunnels.length, (n) => n > before, { timeoutMs: 5_000 });
    assert.ok(again.ok, 'the agent dialed again');

    refuse = true;
    tunnels.at(-1)!.close();
    const notReady = await pollUntil(readyz, (s) => s === 503, { timeoutMs: 3_000 });
    assert.ok(notReady.ok, '/readyz fails while no tunnel is up');
    const refused = await pollUntil(async () => logs.join(''), (t) => t.includes('refused the agent token'), { timeoutMs: 10_000 });
    assert.ok(refused.ok);
    refuse = false;
    const back = await pollUntil(readyz, (s) => s === 200, { timeoutMs: 10_000 });
    assert.ok(back.ok, 'back once the gateway takes the token again');
    const text = logs.join('');
    assert.ok(!text.includes(AGENT_TOKEN.split('.')[1]!), 'the agent token was logged');
    assert.ok(!text.includes(double.gatewayToken) && !text.includes('rotated-token'), 'a ServiceAccount token was logged');
  });
});
