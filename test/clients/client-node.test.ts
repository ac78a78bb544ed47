/**
 * Issue 7: @kubernetes/client-node 1.x as a second real client of the gateway, with a generated
 * kubeconfig (TLS verified against the gateway CA in it; never insecure): list, watch, exec over
 * WebSocket. The double's record shows what reached the cluster (docs/reference/api.md, identity.md).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { CoreV1Api, Exec, KubeConfig, Watch, type V1Status } from '@kubernetes/client-node';
import { GATEWAY_USER } from '../kube-double/index.js';
import { gatewayKubeconfig, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';

const USERNAME = 'node-client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `predicate` holds (the double fills in a record as the request proceeds). */
async function waitFor(predicate: () => boolean, what: () => string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(25);
  }
}

/** `promise`, or a rejection after `ms` (the timer is cleared either way, so nothing lingers). */
async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A Writable that keeps what it was given. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Runs a command through client-node's Exec and resolves when the status channel reports. */
async function execIn(kc: KubeConfig, command: string[], stdin: Readable | null = null): Promise<{ stdout: string; stderr: string; status: V1Status }> {
  const stdout = collector();
  const stderr = collector();
  const status = new Promise<V1Status>((resolve, reject) => {
    new Exec(kc).exec('default', 'web-0', 'web', command, stdout.stream, stderr.stream, stdin, false, resolve).catch(reject);
  });
  const result = await within(status, 10_000, () => `no exec status for ${command.join(' ')} within 10 s`);
  return { stdout: stdout.text(), stderr: stderr.text(), status: result };
}

describe('@kubernetes/client-node 1.x through the gateway', () => {
  let world: ProxyWorld;
  let user: Awaited<ReturnType<typeof memberUser>>;
  let kc: KubeConfig;
  let core: CoreV1Api;
  const mine = () => world.double.requests.filter((r) => r.effective?.username === USERNAME);

  before(async () => {
    world = await startProxyWorld();
    user = await memberUser(world, { username: USERNAME, groups: ['dev', 'ops'] });
    kc = new KubeConfig();
    kc.loadFromFile(await gatewayKubeconfig(world, user.token, 'client-node.yaml'));
    core = kc.makeApiClient(CoreV1Api);
  });
  after(() => world.stop());

  it('verifies the gateway certificate against the kubeconfig CA (nothing insecure)', async () => {
    assert.notEqual(process.env.NODE_TLS_REJECT_UNAUTHORIZED, '0', 'TLS verification is disabled process-wide');
    assert.equal(kc.getCurrentCluster()?.skipTLSVerify, false);
    // The same kubeconfig with another CA (the double's) must fail the TLS handshake.
    const wrong = new KubeConfig();
    wrong.loadFromOptions({
      clusters: [{ name: 'gw', server: kc.getCurrentCluster()!.server, caData: Buffer.from(world.double.caPem).toString('base64'), skipTLSVerify: false }],
      users: [{ name: 'u', token: user.token }],
      contexts: [{ name: 'gw', cluster: 'gw', user: 'u' }],
      currentContext: 'gw',
    });
    const before = world.double.requests.length;
    await assert.rejects(wrong.makeApiClient(CoreV1Api).listNamespace(), /certificate|self[- ]signed|issuer/i);
    assert.equal(world.double.requests.length, before, 'nothing reached the cluster');
  });

  it('lists namespaces (CoreV1Api.listNamespace)', async () => {
    const list = await core.listNamespace();
    const names = list.items.map((ns) => ns.metadata?.name);
    assert.ok(names.includes('default'), JSON.stringify(names));
    assert.ok(names.includes('kube-system'), JSON.stringify(names));
  });

  it('creates and lists configmaps (CoreV1Api)', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'from-client-node' }, data: { a: 'b' } } });
    assert.equal(created.metadata?.name, 'from-client-node');
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const found = list.items.find((cm) => cm.metadata?.name === 'from-client-node');
    assert.deepEqual(found?.data, { a: 'b' });
  });

  it('watches: an object created while watching arrives as ADDED (Watch)', async () => {
    const events: Array<{ phase: string; name: string | undefined }> = [];
    let ended: unknown = 'not yet';
    let sawIt = () => {};
    const seen = new Promise<void>((resolve) => (sawIt = resolve));
    // Resolves once the response headers arrived; the body streams into the callback.
    const controller = await new Watch(kc).watch(
      '/api/v1/namespaces/default/configmaps',
      {},
      (phase, obj: { metadata?: { name?: string } }) => {
        events.push({ phase, name: obj.metadata?.name });
        if (phase === 'ADDED' && obj.metadata?.name === 'watched-by-client-node') sawIt();
      },
      (err) => {
        ended = err;
      },
    );
    try {
      await waitFor(() => mine().some((r) => /[?&]watch=true\b/.test(r.path) && r.status === 200), () => `the watch to open; done(${String(ended)})`);
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'watched-by-client-node' } } });
      await within(seen, 10_000, () => `no ADDED event; got ${JSON.stringify(events)}; done(${String(ended)})`);
    } finally {
      controller.abort();
    }
    await waitFor(() => world.double.activeStreams() === 0, () => 'the watch to end at the cluster after the client aborted');
  });

  it('execs over WebSocket (Exec): echo hi', async () => {
    const r = await execIn(kc, ['echo', 'hi']);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, '');
    assert.equal(r.status.status, 'Success');
  });

  it('execs over WebSocket with stdin (Exec): cat, ended by v5 stdin close', async () => {
    const stdin = new PassThrough();
    const running = execIn(kc, ['cat'], stdin);
    stdin.end('piped through kubegate\n');
    const r = await running;
    assert.equal(r.stdout, 'piped through kubegate\n');
    assert.equal(r.status.status, 'Success');
  });

  it('relays a failing command\'s status (Exec): false', async () => {
    const r = await execIn(kc, ['false']);
    assert.equal(r.status.status, 'Failure');
    assert.equal(r.status.reason, 'NonZeroExitCode');
  });

  it('every request reached the cluster as the user, authenticated as the gateway, without the client token', async () => {
    const seen = mine();
    assert.ok(seen.length >= 8, `only ${seen.length} requests recorded`);
    const secret = user.token.includes('.') ? user.token.split('.').at(-1)! : user.token;
    for (const r of seen) {
      assert.equal(r.authenticatedAs?.username, GATEWAY_USER.username, r.path);
      assert.deepEqual(r.effective, {
        username: USERNAME,
        uid: user.id,
        groups: ['dev', 'ops', 'kubegate:role:member', 'kubegate:authenticated', 'system:authenticated'],
        extra: { 'kubegate.io/token-id': [user.tokenId] },
      }, r.path);
      const text = JSON.stringify(r.rawHeaders);
      assert.ok(!text.includes(user.token), `client token reached the cluster on ${r.path}`);
      assert.ok(!text.includes(secret), `token secret reached the cluster on ${r.path}`);
    }
    const execs = seen.filter((r) => r.path.includes('/exec?'));
    assert.equal(execs.length, 3);
    for (const r of execs) {
      assert.equal(r.upgradeProtocol?.toLowerCase(), 'websocket');
      assert.equal(r.status, 101);
      assert.match(r.headersDistinct['sec-websocket-protocol']?.join(',') ?? '', /v5\.channel\.k8s\.io/);
    }
    await waitFor(() => world.double.activeStreams() === 0, () => 'every stream to close');
  });
});
