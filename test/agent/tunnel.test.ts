/**
 * A cluster reached only through its agent (issue 17): the kube-apiserver double runs in a network
 * namespace the gateway has no route into; the agent there dials the gateway. kubectl through the
 * gateway, identity on the wire, streams, concurrency, back-pressure per stream, agent loss and
 * return, rotation of both the agent token and the ServiceAccount token.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request, Agent } from 'node:https';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { GATEWAY_USER } from '../kube-double/index.js';
import { kubectl, kubectlUntil, watchReceived } from '../support/cluster.js';
import { call } from '../support/gateway.js';
import { pollUntil } from '../scaleout/support.js';
import { startAgentWorld, waitForState, type AgentWorld } from './support.js';

describe('an agent cluster the gateway cannot reach directly', () => {
  let w: AgentWorld;
  let kubeconfig: string;
  const k8s = (path: string) => `/k8s/clusters/edge${path}`;

  before(async () => {
    w = await startAgentWorld();
    const res = await call(w.gw, 'POST', '/v1/clusters/edge/kubeconfig', { token: w.alice.token });
    assert.equal(res.status, 200, res.text);
    kubeconfig = join(w.gw.dir, 'alice.yaml');
    await writeFile(kubeconfig, res.text);
  });
  after(() => w?.stop());

  it('has no route from the gateway to the kube-apiserver: only the agent can reach it', async () => {
    const port = Number(new URL(w.cluster.doubleUrl).port);
    const outcome = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: w.cluster.doubleCaPem, servername: 'localhost' }, () => {
        s.destroy();
        resolve('reached');
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    assert.notEqual(outcome, 'reached', 'this network namespace must not reach the double');
    const status = await waitForState(w.gw, w.admin, 'Connected');
    assert.equal(status.agent.replicas, 1);
    assert.match(status.agent.version, /^\d+\.\d+\.\d+/);
    // Probed as soon as the agent connected: Active, with the API server's version (issue 15).
    const healthy = await pollUntil(() => call(w.gw, 'GET', '/v1/clusters/edge', { token: w.admin }), (x) => x.body?.status?.state === 'Active', { timeoutMs: 10_000 });
    assert.ok(healthy.ok, healthy.value.text);
    assert.match(healthy.value.body.status.version, /^v1\.\d+\.\d+/);
  });

  it('kubectl get, create, watch, logs and logs -f work through the tunnel', async () => {
    const ns = await kubectl(kubeconfig, ['get', 'ns', '-o', 'name']);
    assert.equal(ns.code, 0, ns.stderr);
    assert.match(ns.stdout, /namespace\/kube-system/);

    const watch = kubectlUntil(kubeconfig, ['get', 'configmaps', '-w', '-o', 'name'], /configmap\/through-agent/, 15_000);
    await watchReceived(() => w.cluster.requests(), 'configmaps', 15_000);
    const created = await kubectl(kubeconfig, ['create', 'configmap', 'through-agent', '--from-literal=k=v']);
    assert.equal(created.code, 0, created.stderr);
    await watch.matched;
    watch.stop();
    const got = await kubectl(kubeconfig, ['get', 'configmap', 'through-agent', '-o', 'jsonpath={.data.k}']);
    assert.equal(got.stdout, 'v');

    const logs = await kubectl(kubeconfig, ['logs', 'web-0']);
    assert.equal(logs.code, 0, logs.stderr);
    const follow = kubectlUntil(kubeconfig, ['logs', '-f', 'web-0'], /(.*\n){4}/, 15_000);
    await follow.matched;
    follow.stop();
  });

  it('execs over WebSocket (kubectl exec -i) with stdin and stdout', async () => {
    const r = await kubectl(kubeconfig, ['exec', '-i', 'web-0', '--', 'cat'], { input: 'through the agent\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'through the agent\n');
  });

  /** An upgrade over a raw TLS connection to the gateway; resolves with the socket after the 101. */
  function upgrade(path: string, lines: string[]) {
    return new Promise<{ head: string; socket: import('node:tls').TLSSocket; rest: Buffer }>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(w.gw.url).port), ca: w.gw.caPem, servername: 'localhost' }, () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${w.alice.token}\r\nConnection: Upgrade\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`);
      });
      let buf = Buffer.alloc(0);
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        resolve({ head: buf.subarray(0, end).toString(), socket, rest: buf.subarray(end + 4) });
      };
      socket.on('data', onData);
      socket.on('error', reject);
    });
  }

  async function echo(path: string, protocolVersion: string) {
    const { head, socket, rest } = await upgrade(path, ['Upgrade: SPDY/3.1', `X-Stream-Protocol-Version: ${protocolVersion}`]);
    assert.match(head, /^HTTP\/1\.1 101/);
    assert.match(head, new RegExp(`X-Stream-Protocol-Version: ${protocolVersion.replace('.', '\\.')}`, 'i'));
    const payload = Buffer.from(`spdy bytes both ways ${protocolVersion}`);
    const back = new Promise<Buffer>((resolve) => {
      let got = rest;
      const check = () => (got.length >= payload.length ? resolve(got) : undefined);
      socket.on('data', (c: Buffer) => {
        got = Buffer.concat([got, c]);
        check();
      });
      check();
    });
    socket.write(payload);
    assert.deepEqual(await back, payload);
    socket.destroy();
  }

  it('relays SPDY/3.1 exec and port-forward upgrades both ways through the tunnel', async () => {
    // v3: the double frames only v4 remotecommand over SPDY and echoes other versions' bytes.
    await echo(k8s('/api/v1/namespaces/default/pods/web-0/exec?command=cat&stdin=true&stdout=true'), 'v3.channel.k8s.io');
    // A pod's portforward is framed SPDY in the double (test/clients/port-forward.test.ts covers it
    // with kubectl); the byte echo, which shows the tunnel relays both ways, lives at /spdy-echo.
    await echo(k8s('/spdy-echo'), 'portforward.k8s.io');
    const seen = (await w.cluster.requests()).filter((r) => r.path.includes('/spdy-echo'));
    assert.equal(seen.at(-1)?.status, 101);
    assert.equal(seen.at(-1)?.effective?.username, 'alice');
  });

  it('the cluster receives exactly the impersonation of the user and the agent\'s own credential, nothing the client sent', async () => {
    await w.cluster.clearRequests();
    const res = await call(w.gw, 'GET', k8s('/api/v1/namespaces/default/configmaps'), {
      token: w.alice.token,
      headers: { 'X-Remote-User': 'root', 'X-Remote-Group': 'system:masters', Cookie: 'a=b', 'X-Forwarded-For': '1.2.3.4' },
    });
    assert.equal(res.status, 200, res.text);
    const spoof = await call(w.gw, 'GET', k8s('/api/v1/namespaces'), { token: w.alice.token, headers: { 'Impersonate-User': 'admin' } });
    assert.equal(spoof.status, 403);
    const seen = await w.cluster.requests();
    // The refused impersonation only asked the cluster, as alice, whether she may impersonate admin.
    assert.deepEqual(seen.map((s) => [s.path.split('?')[0], s.effective?.username]), [
      ['/api/v1/namespaces/default/configmaps', 'alice'],
      ['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', 'alice'],
    ]);
    const r = seen[0]!;
    const names = r.rawHeaders.map(([n]) => n.toLowerCase());
    assert.deepEqual(r.headersDistinct.authorization, [`Bearer ${(await import('node:fs')).readFileSync(join(w.cluster.dir, 'kube.token'), 'utf8')}`]);
    assert.equal(r.authenticatedAs?.username, GATEWAY_USER.username, 'authenticated as the agent\'s ServiceAccount');
    assert.deepEqual(r.headersDistinct['impersonate-user'], ['alice']);
    assert.deepEqual(r.headersDistinct['impersonate-group'], ['dev', 'kubegate:role:member', 'kubegate:authenticated']);
    assert.equal(r.headersDistinct['impersonate-uid']?.length, 1);
    assert.equal(r.headersDistinct['impersonate-extra-kubegate.io%2ftoken-id']?.length, 1);
    for (const n of ['x-remote-user', 'x-remote-group', 'cookie', 'x-forwarded-for']) assert.ok(!names.includes(n), `${n} reached the cluster`);
    const wire = JSON.stringify(r.rawHeaders);
    assert.ok(!wire.includes(w.alice.token.split('.')[1]!), "the client's token reached the cluster");
    assert.equal(r.effective?.username, 'alice');
  });

  it('carries 100 concurrent requests and 20 concurrent watches through one agent', async () => {
    const agent = new Agent({ ca: w.gw.caPem, keepAlive: true, maxSockets: 50 });
    const gwAt = { url: w.gw.url, agent };
    const watches = await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
          const req = request(new URL(k8s('/api/v1/namespaces/default/configmaps?watch=true'), w.gw.url), { agent, headers: { Authorization: `Bearer ${w.alice.token}` } }, resolve);
          req.on('error', reject);
          req.end();
        }),
      ),
    );
    for (const res of watches) assert.equal(res.statusCode, 200);
    const events = watches.map((res) => new Promise<string>((resolve) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        if (text.includes('"name":"many-watched"')) resolve(text);
      });
    }));
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => call(gwAt, 'GET', k8s(`/api/v1/namespaces/default/configmaps?i=${i}`), { token: w.alice.token })));
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    const made = await call(w.gw, 'POST', k8s('/api/v1/namespaces/default/configmaps'), { token: w.alice.token, body: { metadata: { name: 'many-watched' } } });
    assert.equal(made.status, 201, made.text);
    const seen = await Promise.all(events);
    assert.equal(seen.length, 20);
    for (const res of watches) res.destroy();
    agent.destroy();
  });

  it('a stalled reader holds back only its own stream', async () => {
    // A large list (about 16 MiB), far more than the socket buffers and the stream's window hold.
    const big = 'x'.repeat(2 * 1024 * 1024);
    for (let i = 0; i < 8; i++) {
      const r = await call(w.gw, 'POST', k8s('/api/v1/namespaces/default/configmaps'), { token: w.alice.token, body: { metadata: { name: `big-${i}` }, data: { v: big } } });
      assert.equal(r.status, 201, r.text);
    }
    const stalledAgent = new Agent({ ca: w.gw.caPem, keepAlive: false });
    const stalled = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(new URL(k8s('/api/v1/namespaces/default/configmaps'), w.gw.url), { agent: stalledAgent, headers: { Authorization: `Bearer ${w.alice.token}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
    stalled.pause();
    // While it is not read, others get their answers.
    for (let i = 0; i < 20; i++) {
      const r = await call(w.gw, 'GET', k8s('/api/v1/namespaces/default/pods/web-0'), { token: w.alice.token });
      assert.equal(r.status, 200);
    }
    let bytes = 0;
    stalled.on('data', (c: Buffer) => (bytes += c.length));
    stalled.resume();
    await new Promise((resolve) => stalled.on('end', resolve));
    assert.ok(bytes > 16 * 1024 * 1024, `the stalled answer arrived whole afterwards (${bytes} bytes)`);
    stalledAgent.destroy();
    for (let i = 0; i < 8; i++) await call(w.gw, 'DELETE', k8s(`/api/v1/namespaces/default/configmaps/big-${i}`), { token: w.alice.token });
  });

  it('follows a ServiceAccount token rotation without dropping the tunnel', async () => {
    await w.cluster.rotateKubeToken('rotated-service-account-token');
    // The double now takes only the new token: requests work once the agent has told the gateway.
    const r = await pollUntil(() => call(w.gw, 'GET', k8s('/api/v1/namespaces/default/pods'), { token: w.alice.token }), (x) => x.status === 200, { timeoutMs: 5_000 });
    assert.ok(r.ok, `still ${r.value.status}`);
    const last = (await w.cluster.requests()).at(-1)!;
    assert.deepEqual(last.headersDistinct.authorization, ['Bearer rotated-service-account-token']);
  });

  it('with --manage-rbac the agent keeps the role bindings the gateway lists, following a role added there', async () => {
    await w.cluster.killAgent('agent-a');
    await w.cluster.startAgent('agent-a', { gateway: w.gw.url, agentToken: w.agentToken, gatewayCaPem: w.gw.caPem, flags: ['--manage-rbac', '--rbac-interval', '200ms'] });
    await waitForState(w.gw, w.admin, 'Connected');
    const binding = (name: string) => w.cluster.object('rbac.authorization.k8s.io', 'clusterrolebindings', '', name);
    const viewer = await pollUntil(() => binding('kubegate:role:viewer'), (b) => b !== null, { timeoutMs: 10_000 });
    assert.ok(viewer.ok, 'the agent created the viewer binding');
    assert.equal(viewer.value.roleRef.name, 'view');
    assert.deepEqual(viewer.value.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubegate:role:viewer' }]);
    const created = await call(w.gw, 'POST', '/v1/roles', { token: w.admin, body: { name: 'auditor', clusterRole: 'view' } });
    assert.equal(created.status, 201, created.text);
    const auditor = await pollUntil(() => binding('kubegate:role:auditor'), (b) => b !== null, { timeoutMs: 10_000 });
    assert.ok(auditor.ok, 'the agent added the new role');
    assert.ok((await w.cluster.agentLog('agent-a')).some((l) => l.includes('role bindings reconciled')));
  });

  it('answers 503 at once when the agent dies, and works again when it is back, without a gateway restart', async () => {
    await w.cluster.killAgent('agent-a');
    const gone = await pollUntil(() => call(w.gw, 'GET', k8s('/api/v1/namespaces'), { token: w.alice.token }), (x) => x.status === 503 && x.body?.message === 'cluster edge has no connected agent', { timeoutMs: 2_000, everyMs: 20 });
    assert.ok(gone.ok, `still ${gone.value.status} 2 s after the agent died`);
    assert.equal(gone.value.body.kind, 'Status');
    assert.equal(gone.value.body.message, 'cluster edge has no connected agent');
    const metrics = await call(w.gw, 'GET', '/metrics', { token: w.admin });
    assert.match(metrics.text, /kubegate_cluster_agent_connected\{cluster="edge"\} 0/);
    const kubectlOut = await kubectl(kubeconfig, ['get', 'pods']);
    assert.notEqual(kubectlOut.code, 0);
    assert.match(kubectlOut.stderr, /has no connected agent/);

    await w.cluster.startAgent('agent-a', { gateway: w.gw.url, agentToken: w.agentToken, gatewayCaPem: w.gw.caPem });
    await waitForState(w.gw, w.admin, 'Connected');
    const back = await kubectl(kubeconfig, ['get', 'pods', '-o', 'name']);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /pod\/web-0/);
    assert.match((await call(w.gw, 'GET', '/metrics', { token: w.admin })).text, /kubegate_cluster_agent_connected\{cluster="edge"\} 1/);
  });

  it('rotating the agent token drops the old agent; one with the new token connects', async () => {
    const rotated = await call(w.gw, 'POST', '/v1/clusters/edge/agent-token', { token: w.admin });
    assert.equal(rotated.status, 201, rotated.text);
    await waitForState(w.gw, w.admin, 'Disconnected', 3_000);
    // The old agent keeps trying with its old token and is refused.
    const refused = await pollUntil(() => w.cluster.agentLog('agent-a'), (log) => log.some((l) => l.includes('refused the agent token')), { timeoutMs: 10_000 });
    assert.ok(refused.ok, 'the old agent was refused');
    await w.cluster.startAgent('agent-b', { gateway: w.gw.url, agentToken: rotated.body.agentToken, gatewayCaPem: w.gw.caPem });
    const status = await waitForState(w.gw, w.admin, 'Connected');
    assert.equal(status.agent.replicas, 1);
    const r = await call(w.gw, 'GET', k8s('/api/v1/namespaces'), { token: w.alice.token });
    assert.equal(r.status, 200);
    for (const line of [...(await w.cluster.agentLog('agent-a')), ...(await w.cluster.agentLog('agent-b')), ...w.gw.logs]) {
      assert.ok(!line.includes(w.agentToken) && !line.includes(rotated.body.agentToken), 'a log line holds an agent token');
      assert.ok(!line.includes('rotated-service-account-token'), 'a log line holds the ServiceAccount token');
    }
  });
});
