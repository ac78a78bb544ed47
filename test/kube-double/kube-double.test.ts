/**
 * Proves the kube-apiserver double behaves like kube-apiserver where the gateway depends on it,
 * with raw HTTPS/TLS requests and with the real kubectl pointed straight at it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import { bearer, eventually, rawUpgrade, readUntil, request, type RawRequest } from './client.js';
import { startKubeDouble, writeKubeconfig, type KubeDouble } from './index.js';
import { runKubectl, spawnKubectl } from './kubectl.js';

const whoami = (double: KubeDouble, headers: Record<string, string | string[]>, cert?: RawRequest['cert']) =>
  request(double, {
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1' }),
    ...(cert ? { cert } : {}),
  });

const UNAUTHORIZED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };

/** Opens a watch and collects its events until the returned `close` is called. */
const openWatch = async (double: KubeDouble, path: string) => {
  const events: Array<{ type: string; object: { metadata: { name: string } } & Record<string, unknown> }> = [];
  const req = https.request({ host: '127.0.0.1', port: double.port, path, headers: bearer(double.gatewayToken), ca: double.caPem, agent: false });
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
  let buffered = '';
  response.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) events.push(JSON.parse(line));
  });
  const ended = new Promise<void>((resolve) => response.on('close', () => resolve()));
  return { response, events, ended, close: () => req.destroy() };
};

describe('kube-apiserver double', () => {
  let double: KubeDouble;
  let dir: string;
  let kubeconfig: string;
  const kubectl = (args: string[], stdin?: string) => runKubectl(args, { kubeconfig, ...(stdin === undefined ? {} : { stdin }) });

  before(async () => {
    double = await startKubeDouble({ staticTokens: { 'bob-token': { username: 'bob', uid: 'u-bob', groups: ['devs'] }, 'root-token': { username: 'root', groups: ['system:masters'] } } });
    dir = await mkdtemp(join(tmpdir(), 'kube-double-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeKubeconfig(kubeconfig, { server: double.url, caPem: double.caPem, token: double.gatewayToken });
  });

  after(async () => {
    await double.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe('TLS and authentication', () => {
    test('serves 127.0.0.1 and localhost with a certificate from its own CA', async () => {
      for (const host of ['127.0.0.1', 'localhost']) {
        const res = await request(double, { host, path: '/version', headers: bearer(double.gatewayToken) });
        assert.equal(res.status, 200);
        assert.equal(JSON.parse(res.body).gitVersion, 'v1.32.4');
      }
      assert.match(double.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    });

    test('answers 401 Status without a credential and for an unknown token, and records it', async () => {
      double.clearRequests();
      for (const headers of [{}, bearer('nope'), { Authorization: 'Basic YTpi' }]) {
        const res = await request(double, { path: '/api/v1/namespaces', headers });
        assert.equal(res.status, 401);
        assert.equal(res.headers['content-type'], 'application/json');
        assert.deepEqual(JSON.parse(res.body), UNAUTHORIZED);
      }
      assert.equal(double.requests.length, 3);
      assert.deepEqual(double.requests.map((r) => [r.status, r.authenticatedAs, r.effective]), [[401, null, null], [401, null, null], [401, null, null]]);
    });

    test('the gateway token is the gateway service account', async () => {
      const res = await whoami(double, bearer(double.gatewayToken));
      assert.equal(res.status, 201);
      assert.deepEqual(JSON.parse(res.body).status.userInfo, {
        username: 'system:serviceaccount:kubegate:kubegate-impersonator',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kubegate', 'system:authenticated'],
      });
    });

    test('a client certificate from its CA authenticates as CN with O groups; other CAs do not count', async () => {
      const cert = await double.issueClientCert('carol', ['team-a', 'a,b']);
      const res = await whoami(double, {}, cert);
      assert.deepEqual(JSON.parse(res.body).status.userInfo, { username: 'carol', groups: ['team-a', 'a,b', 'system:authenticated'] });

      const gatewayCert = await double.issueClientCert(double.gatewayUser.username);
      const impersonating = await whoami(double, { 'Impersonate-User': 'alice' }, gatewayCert);
      assert.equal(JSON.parse(impersonating.body).status.userInfo.username, 'alice');

      const stranger = await startKubeDouble();
      try {
        const foreign = await stranger.issueClientCert('mallory');
        assert.equal((await whoami(double, {}, foreign)).status, 401);
      } finally {
        await stranger.stop();
      }
    });
  });

  describe('impersonation', () => {
    test('the gateway may impersonate: one group per header line, commas kept, extra decoded', async () => {
      double.clearRequests();
      const res = await whoami(double, {
        ...bearer(double.gatewayToken),
        'Impersonate-User': 'alice',
        'Impersonate-Uid': 'u-1',
        'Impersonate-Group': ['dev', 'ops,qa'],
        'Impersonate-Extra-kubegate.io%2Ftoken-id': 't-1',
      });
      assert.equal(res.status, 201);
      const expected = {
        username: 'alice',
        uid: 'u-1',
        groups: ['dev', 'ops,qa', 'system:authenticated'],
        extra: { 'kubegate.io/token-id': ['t-1'] },
      };
      assert.deepEqual(JSON.parse(res.body).status.userInfo, expected);

      const [record] = double.requests;
      assert.ok(record);
      assert.equal(record.authenticatedAs?.username, double.gatewayUser.username);
      assert.deepEqual(record.effective, expected);
      assert.deepEqual(record.headersDistinct['impersonate-group'], ['dev', 'ops,qa']);
      assert.deepEqual(record.rawHeaders.filter(([name]) => name === 'Impersonate-Group'), [['Impersonate-Group', 'dev'], ['Impersonate-Group', 'ops,qa']]);
      assert.equal(record.status, 201);
    });

    test('system:authenticated is not added twice, and a service account gets its default groups', async () => {
      const withGroup = await whoami(double, { ...bearer(double.gatewayToken), 'Impersonate-User': 'alice', 'Impersonate-Group': 'system:authenticated' });
      assert.deepEqual(JSON.parse(withGroup.body).status.userInfo.groups, ['system:authenticated']);
      // The rendered impersonator role grants no service accounts; system:masters may impersonate anyone.
      const sa = await whoami(double, { ...bearer('root-token'), 'Impersonate-User': 'system:serviceaccount:ns1:robot' });
      assert.deepEqual(JSON.parse(sa.body).status.userInfo.groups, ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated']);
    });

    test('anyone else sending Impersonate-* gets 403', async () => {
      const res = await whoami(double, { ...bearer('bob-token'), 'Impersonate-User': 'alice', 'Impersonate-Group': 'dev' });
      assert.equal(res.status, 403);
      assert.deepEqual(JSON.parse(res.body), {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope',
        reason: 'Forbidden',
        details: { name: 'alice', kind: 'users' },
        code: 403,
      });
      const plain = await whoami(double, bearer('bob-token'));
      assert.deepEqual(JSON.parse(plain.body).status.userInfo, { username: 'bob', uid: 'u-bob', groups: ['devs', 'system:authenticated'] });
    });

    test('groups without Impersonate-User are a plain-text 500, as kube-apiserver answers', async () => {
      const res = await whoami(double, { ...bearer(double.gatewayToken), 'Impersonate-Group': 'dev' });
      assert.equal(res.status, 500);
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(res.body, 'Internal Server Error: &#34;/apis/authentication.k8s.io/v1/selfsubjectreviews&#34;: requested [{Group  dev    }] without impersonating a user\n');
    });

    test('kubectl --as/--as-group/--as-uid reaches SelfSubjectReview as the impersonated user', async () => {
      const result = await kubectl(['auth', 'whoami', '-o', 'json', '--as', 'alice', '--as-group', 'dev', '--as-group', 'a,b', '--as-uid', 'u-1']);
      assert.equal(result.exitCode, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout).status.userInfo, { username: 'alice', uid: 'u-1', groups: ['dev', 'a,b', 'system:authenticated'] });
    });

    test('an authorize hook refuses with the RBAC wording', async () => {
      double.setOptions({ authorize: (a) => !(a.user.username === 'bob' && a.resource === 'configmaps') });
      try {
        const res = await request(double, { path: '/api/v1/namespaces/default/configmaps', headers: bearer('bob-token') });
        assert.equal(res.status, 403);
        assert.equal(JSON.parse(res.body).message, 'configmaps is forbidden: User "bob" cannot list resource "configmaps" in API group "" in the namespace "default"');
      } finally {
        double.setOptions({ authorize: undefined });
      }
    });
  });

  describe('discovery and resources with kubectl', () => {
    test('answers aggregated discovery when asked for it and legacy JSON otherwise', async () => {
      const aggregated = await request(double, {
        path: '/api',
        headers: { ...bearer(double.gatewayToken), Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' },
      });
      assert.equal(aggregated.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
      assert.equal(JSON.parse(aggregated.body).kind, 'APIGroupDiscoveryList');
      const legacy = await request(double, { path: '/api', headers: { ...bearer(double.gatewayToken), Accept: 'application/json' } });
      assert.equal(legacy.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(legacy.body).versions, ['v1']);
      const groups = JSON.parse((await request(double, { path: '/apis', headers: bearer(double.gatewayToken) })).body);
      assert.deepEqual(groups.groups.map((g: { name: string }) => g.name), ['apps', 'authentication.k8s.io', 'authorization.k8s.io', 'rbac.authorization.k8s.io']);
    });

    test('kubectl get ns, create/get/delete configmap', async () => {
      const ns = await kubectl(['get', 'ns']);
      assert.equal(ns.exitCode, 0, ns.stderr);
      assert.match(ns.stdout, /^NAME\s+STATUS\s+AGE\n/);
      assert.match(ns.stdout, /\ndefault\s+Active/);
      assert.match(ns.stdout, /\nkube-system\s+Active/);

      const created = await kubectl(['create', 'configmap', 'settings', '--from-literal=color=blue']);
      assert.equal(created.exitCode, 0, created.stderr);
      assert.equal(created.stdout, 'configmap/settings created\n');
      const got = await kubectl(['get', 'cm', 'settings', '-o', 'json']);
      assert.deepEqual(JSON.parse(got.stdout).data, { color: 'blue' });
      const listed = await kubectl(['get', 'cm']);
      assert.match(listed.stdout, /\nsettings\s+1\s+\d+s\n/);
      const deleted = await kubectl(['delete', 'cm', 'settings']);
      assert.equal(deleted.exitCode, 0, deleted.stderr);
      const gone = await kubectl(['get', 'cm', 'settings']);
      assert.equal(gone.exitCode, 1);
      assert.match(gone.stderr, /Error from server \(NotFound\): configmaps "settings" not found/);
    });

    test('kubectl create -f validates server-side (fieldValidation=Strict) with default flags', async () => {
      const good = join(dir, 'good.yaml');
      const bad = join(dir, 'bad.yaml');
      await writeFile(good, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-file' }, data: { k: 'v' } }));
      await writeFile(bad, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad-file' }, data: { k: 'v' }, spec: {} }));
      const ok = await kubectl(['create', '-f', good]);
      assert.equal(ok.exitCode, 0, ok.stderr);
      const refused = await kubectl(['create', '-f', bad]);
      assert.equal(refused.exitCode, 1);
      assert.match(refused.stderr, /strict decoding error: unknown field "spec"/);
      assert.equal((await kubectl(['delete', '-f', good])).exitCode, 0);
    });

    test('kubectl get cm -w sees an object created meanwhile', async () => {
      double.clearRequests();
      const watch = spawnKubectl(['get', 'cm', '-w'], { kubeconfig });
      try {
        await eventually(() => double.requests.some((r) => r.path.includes('/configmaps?') && r.path.includes('watch=true') && r.status === 200), 5000);
        const created = await kubectl(['create', 'configmap', 'watched', '--from-literal=x=y']);
        assert.equal(created.exitCode, 0, created.stderr);
        await watch.waitForOutput(/\nwatched\s+1\s+\d+s\n/, 2000);
      } finally {
        await watch.stop();
        await kubectl(['delete', 'cm', 'watched']);
      }
      await eventually(() => double.activeStreams() === 0);
    });

    test('kubectl logs prints the fixed lines; logs -f streams until killed', async () => {
      const logs = await kubectl(['logs', 'web-0']);
      assert.equal(logs.exitCode, 0, logs.stderr);
      assert.equal(logs.stdout, 'web-0/web: starting\nweb-0/web: listening on :80\nweb-0/web: ready\n');

      const follow = spawnKubectl(['logs', '-f', 'web-0'], { kubeconfig });
      try {
        await follow.waitForOutput(/tick 2\n/, 3000);
        assert.equal(double.activeStreams(), 1);
      } finally {
        await follow.stop();
      }
      await eventually(() => double.activeStreams() === 0);
    });

    test('echo hello | kubectl exec -i web-0 -- cat (WebSocket v5) prints hello and exits 0', async () => {
      double.clearRequests();
      const result = await kubectl(['exec', '-i', 'web-0', '--', 'cat'], 'hello\n');
      assert.equal(result.exitCode, 0, result.stderr);
      assert.equal(result.stdout, 'hello\n');
      const upgrade = double.requests.find((r) => r.upgrade);
      assert.equal(upgrade?.upgradeProtocol, 'websocket');
      assert.equal(upgrade?.status, 101);
      assert.match(upgrade?.headersDistinct['sec-websocket-protocol']?.join(',') ?? '', /v5\.channel\.k8s\.io/);
    });

    test('kubectl exec relays exit codes and runs as the effective user', async () => {
      const failed = await kubectl(['exec', 'web-0', '--', 'sh', '-c', 'exit 3']);
      assert.equal(failed.exitCode, 3);
      const who = await kubectl(['exec', 'web-0', '--as', 'alice', '--', 'whoami']);
      assert.equal(who.stdout, 'alice\n');
      await eventually(() => double.activeStreams() === 0);
    });
  });

  describe('raw API behaviour', () => {
    test('a watch flushes headers at once, replays from a resourceVersion, and streams later changes', async () => {
      const list = JSON.parse((await request(double, { path: '/api/v1/namespaces/default/configmaps', headers: bearer(double.gatewayToken) })).body);
      assert.equal(list.kind, 'ConfigMapList');
      const rv: string = list.metadata.resourceVersion;
      const createCm = (name: string) =>
        request(double, {
          method: 'POST',
          path: '/api/v1/namespaces/default/configmaps',
          headers: { ...bearer(double.gatewayToken), 'Content-Type': 'application/json' },
          body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } }),
        });
      assert.equal((await createCm('before-watch')).status, 201);

      const watch = await openWatch(double, `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`);
      const { events } = watch;
      assert.equal(watch.response.statusCode, 200);
      assert.equal(watch.response.headers['transfer-encoding'], 'chunked');
      await eventually(() => events.length === 1);
      assert.equal(events[0]?.object.metadata.name, 'before-watch');
      assert.equal(double.activeStreams(), 1);

      await createCm('during-watch');
      await request(double, { method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/during-watch', headers: bearer(double.gatewayToken) });
      await eventually(() => events.length === 3);
      assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'before-watch'], ['ADDED', 'during-watch'], ['DELETED', 'during-watch']]);
      watch.close();
      await eventually(() => double.activeStreams() === 0);
      await request(double, { method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/before-watch', headers: bearer(double.gatewayToken) });
    });

    test('a watch from a compacted resourceVersion gets one ERROR 410 event', async () => {
      const small = await startKubeDouble({ watchHistoryLimit: 1 });
      try {
        for (const name of ['a', 'b']) {
          await request(small, { method: 'POST', path: '/api/v1/namespaces', headers: { ...bearer(small.gatewayToken), 'Content-Type': 'application/json' }, body: JSON.stringify({ metadata: { name } }) });
        }
        const res = await request(small, { path: '/api/v1/namespaces?watch=true&resourceVersion=1', headers: bearer(small.gatewayToken) });
        const event = JSON.parse(res.body.trim());
        assert.equal(event.type, 'ERROR');
        assert.equal(event.object.code, 410);
        assert.equal(event.object.reason, 'Expired');
      } finally {
        await small.stop();
      }
    });

    test('timeoutSeconds ends a watch; without resourceVersion it starts with ADDED for what exists', async () => {
      const started = Date.now();
      const watch = await openWatch(double, '/api/v1/namespaces?watch=true&timeoutSeconds=1&labelSelector=kubernetes.io/metadata.name%3Ddefault');
      await watch.ended;
      assert.ok(Date.now() - started >= 900);
      assert.deepEqual(watch.events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'default']]);
      assert.equal(watch.events[0]?.object.kind, 'Namespace');
      await eventually(() => double.activeStreams() === 0);
    });

    test('lists page with limit/continue and carry type meta only on the list', async () => {
      const first = JSON.parse((await request(double, { path: '/api/v1/namespaces?limit=2', headers: bearer(double.gatewayToken) })).body);
      assert.equal(first.kind, 'NamespaceList');
      assert.deepEqual(first.items.map((n: { metadata: { name: string } }) => n.metadata.name), ['default', 'kube-node-lease']);
      assert.equal(first.items[0].kind, undefined);
      assert.equal(first.metadata.remainingItemCount, 2);
      const next = JSON.parse((await request(double, { path: `/api/v1/namespaces?limit=2&continue=${first.metadata.continue}`, headers: bearer(double.gatewayToken) })).body);
      assert.deepEqual(next.items.map((n: { metadata: { name: string } }) => n.metadata.name), ['kube-public', 'kube-system']);
      assert.equal(next.metadata.continue, undefined);
    });

    test('exec over v4.channel.k8s.io: cat echoes stdin until the client closes', async () => {
      const ws = new WebSocket(`wss://127.0.0.1:${double.port}/api/v1/namespaces/default/pods/web-0/exec?command=cat&stdin=true&stdout=true`, ['v4.channel.k8s.io'], {
        ca: double.caPem,
        headers: bearer(double.gatewayToken),
      });
      const received: Buffer[] = [];
      ws.on('message', (data: Buffer) => received.push(data));
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => resolve());
        ws.on('error', reject);
      });
      assert.equal(ws.protocol, 'v4.channel.k8s.io');
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('abc')]));
      await eventually(() => received.some((m) => m.subarray(1).toString() === 'abc'));
      assert.equal(double.activeStreams(), 1);
      ws.close();
      await eventually(() => double.activeStreams() === 0);
    });

    test('exec without an upgrade is 400 "Upgrade request required"; a missing pod is 404', async () => {
      const res = await request(double, { method: 'POST', path: '/api/v1/namespaces/default/pods/web-0/exec?command=ls&stdout=true', headers: bearer(double.gatewayToken) });
      assert.equal(res.status, 400);
      assert.equal(JSON.parse(res.body).message, 'Upgrade request required');
      const missing = await request(double, { path: '/api/v1/namespaces/default/pods/nope/log', headers: bearer(double.gatewayToken) });
      assert.equal(missing.status, 404);
      assert.equal(JSON.parse(missing.body).message, 'pods "nope" not found');
    });

    test('exec over WebSocket accepts the bearer subprotocol and speaks v5 channels', async () => {
      const protocolToken = `base64url.bearer.authorization.k8s.io.${Buffer.from(double.gatewayToken).toString('base64url')}`;
      const ws = new WebSocket(`wss://127.0.0.1:${double.port}/api/v1/namespaces/default/pods/web-0/exec?command=echo&command=hi&stdout=true&stderr=true`, [protocolToken, 'v5.channel.k8s.io'], { ca: double.caPem });
      const messages: Buffer[] = [];
      ws.on('message', (data: Buffer) => messages.push(data));
      await new Promise<void>((resolve, reject) => {
        ws.on('close', () => resolve());
        ws.on('error', reject);
      });
      assert.equal(ws.protocol, 'v5.channel.k8s.io');
      assert.deepEqual(messages[0], Buffer.from([1])); // the empty "stream is ready" message on stdout
      assert.deepEqual(messages[1], Buffer.concat([Buffer.from([1]), Buffer.from('hi\n')]));
      assert.deepEqual(JSON.parse(messages[2]?.subarray(1).toString('utf8') ?? ''), { metadata: {}, status: 'Success' });
    });
  });

  describe('SPDY and refused upgrades', () => {
    test('SPDY/3.1 upgrade: 101 with the first X-Stream-Protocol-Version, then a byte echo', async () => {
      double.clearRequests();
      const { socket, head, rest } = await rawUpgrade(double, [
        // A pod's portforward is framed SPDY now (spdy-portforward.ts): the byte echo lives at /spdy-echo.
        'POST /spdy-echo HTTP/1.1',
        `Host: 127.0.0.1:${double.port}`,
        `Authorization: Bearer ${double.gatewayToken}`,
        'Connection: Upgrade',
        'Upgrade: SPDY/3.1',
        'X-Stream-Protocol-Version: portforward.k8s.io',
        'X-Stream-Protocol-Version: v4.channel.k8s.io',
      ]);
      try {
        const lines = head.split('\r\n');
        assert.equal(lines[0], 'HTTP/1.1 101 Switching Protocols');
        assert.ok(lines.includes('Connection: Upgrade'));
        assert.ok(lines.includes('Upgrade: SPDY/3.1'));
        assert.ok(lines.includes('X-Stream-Protocol-Version: portforward.k8s.io'));
        socket.write('ping-bytes');
        assert.equal(await readUntil(socket, (t) => t.includes('ping-bytes'), rest.toString('utf8')), 'ping-bytes');
        assert.equal(double.activeStreams(), 1);
        const record = double.requests.at(-1);
        assert.deepEqual(record?.streamProtocolVersions, ['portforward.k8s.io', 'v4.channel.k8s.io']);
        assert.equal(record?.status, 101);
        assert.equal(record?.upgrade, true);
      } finally {
        socket.destroy();
      }
      await eventually(() => double.activeStreams() === 0);
    });

    test('refuseUpgrades answers 403 Status on the socket for SPDY and WebSocket alike', async () => {
      double.setOptions({ refuseUpgrades: true });
      try {
        const { socket, head, rest } = await rawUpgrade(double, [
          'GET /spdy-echo HTTP/1.1',
          'Host: localhost',
          `Authorization: Bearer ${double.gatewayToken}`,
          'Connection: Upgrade',
          'Upgrade: SPDY/3.1',
        ]);
        assert.match(head, /^HTTP\/1\.1 403 Forbidden\r\n/);
        const body = await readUntil(socket, (t) => t.endsWith('}'), rest.toString('utf8'));
        assert.equal(JSON.parse(body).reason, 'Forbidden');
        socket.destroy();

        const result = await kubectl(['exec', 'web-0', '--', 'echo', 'x']);
        assert.notEqual(result.exitCode, 0);
        assert.equal(double.requests.filter((r) => r.upgrade && r.status === 403).length >= 2, true);
      } finally {
        double.setOptions({ refuseUpgrades: false });
      }
    });
  });
});

describe('TokenReview webhook authentication', () => {
  interface Seen {
    body: { apiVersion: string; kind: string; spec: { token: string; audiences?: string[] } };
    headers: http.IncomingHttpHeaders;
  }
  let webhook: http.Server;
  let webhookUrl: string;
  let dir: string;
  const seen: Seen[] = [];
  let answerVersion: string | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-double-webhook-'));
    webhook = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        const body = JSON.parse(text) as Seen['body'];
        seen.push({ body, headers: req.headers });
        const status =
          body.spec.token === 'alice-token'
            ? { authenticated: true, user: { username: 'alice', uid: 'u-1', groups: ['dev', 'kubegate:authenticated'], extra: { 'kubegate.io/token-id': ['t-1'] } } }
            : { authenticated: false, error: 'unknown token' };
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: answerVersion ?? body.apiVersion, kind: 'TokenReview', status }));
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/v1/authenticate`;
  });

  after(async () => {
    webhook.closeAllConnections();
    await new Promise<void>((resolve) => webhook.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const webhookConfig = async (server: string, name = 'webhook.yaml', currentContext: string | null = 'webhook'): Promise<string> => {
    const file = join(dir, name);
    await writeFile(file, stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kube-api-auth', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'kube-api-auth', user: {} }],
      contexts: [{ name: 'webhook', context: { cluster: 'kube-api-auth', user: 'kube-api-auth' } }],
      ...(currentContext ? { 'current-context': currentContext } : {}),
    }));
    return file;
  };

  test('v1: POSTs a TokenReview with token and audiences, believes the user, adds system:authenticated, caches', async () => {
    seen.length = 0;
    const double = await startKubeDouble({ webhookConfigFile: await webhookConfig(webhookUrl), webhookCacheTtlMs: 300 });
    try {
      const res = await whoami(double, bearer('alice-token'));
      assert.equal(res.status, 201);
      assert.deepEqual(JSON.parse(res.body).status.userInfo, {
        username: 'alice',
        uid: 'u-1',
        groups: ['dev', 'kubegate:authenticated', 'system:authenticated'],
        extra: { 'kubegate.io/token-id': ['t-1'] },
      });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.body.apiVersion, 'authentication.k8s.io/v1');
      assert.equal(seen[0]?.body.kind, 'TokenReview');
      assert.deepEqual(seen[0]?.body.spec, { token: 'alice-token', audiences: ['https://kubernetes.default.svc.cluster.local'] });
      assert.equal(seen[0]?.headers['content-type'], 'application/json');

      await whoami(double, bearer('alice-token'));
      assert.equal(seen.length, 1, 'second request within the TTL is answered from the cache');
      await new Promise((r) => setTimeout(r, 350));
      await whoami(double, bearer('alice-token'));
      assert.equal(seen.length, 2, 'after the TTL the webhook is asked again');

      const refused = await whoami(double, bearer('other-token'));
      assert.equal(refused.status, 401);
      assert.deepEqual(JSON.parse(refused.body), UNAUTHORIZED);
      assert.equal((await whoami(double, { ...bearer('alice-token'), 'Impersonate-User': 'bob' })).status, 403);
    } finally {
      await double.stop();
    }
  });

  test('v1beta1: asks in v1beta1 and rejects an answer in another version; TTL 0 disables the cache', async () => {
    seen.length = 0;
    const double = await startKubeDouble({ webhookConfigFile: await webhookConfig(webhookUrl), webhookVersion: 'v1beta1', webhookCacheTtlMs: 0 });
    try {
      assert.equal((await whoami(double, bearer('alice-token'))).status, 201);
      assert.equal((await whoami(double, bearer('alice-token'))).status, 201);
      assert.deepEqual(seen.map((s) => s.body.apiVersion), ['authentication.k8s.io/v1beta1', 'authentication.k8s.io/v1beta1']);
      answerVersion = 'authentication.k8s.io/v1';
      assert.equal((await whoami(double, bearer('alice-token'))).status, 401);
    } finally {
      answerVersion = undefined;
      await double.stop();
    }
  });

  test('an unreachable webhook means 401; the gateway token still works', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const double = await startKubeDouble({ webhookConfigFile: await webhookConfig(`http://127.0.0.1:${port}/v1/authenticate`, 'down.yaml') });
    try {
      const res = await whoami(double, bearer('alice-token'));
      assert.equal(res.status, 401);
      assert.deepEqual(JSON.parse(res.body), UNAUTHORIZED);
      assert.equal((await whoami(double, bearer(double.gatewayToken))).status, 201);
    } finally {
      await double.stop();
    }
  });

  test('a webhook config without current-context stops the double from starting, as kube-apiserver', async () => {
    const file = await webhookConfig(webhookUrl, 'no-context.yaml', null);
    const started = startKubeDouble({ webhookConfigFile: file });
    await assert.rejects(started, /no current-context/);
    await started.then((unexpected) => unexpected.stop(), () => undefined);
  });
});

describe('stop()', () => {
  test('ends open watches and connections', async () => {
    const double = await startKubeDouble();
    const req = https.request({ host: '127.0.0.1', port: double.port, path: '/api/v1/namespaces?watch=true', headers: bearer(double.gatewayToken), ca: double.caPem, agent: false });
    const ended = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
    });
    req.end();
    await eventually(() => double.activeStreams() === 1);
    await double.stop();
    await ended;
    assert.equal(double.activeStreams(), 0);
  });
});
