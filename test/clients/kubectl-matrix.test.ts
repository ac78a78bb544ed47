/**
 * Issue 7, "Real clients beyond kubectl 1.32": every kubectl on this machine runs the everyday flows
 * through the gateway against the kube-apiserver double (docs/reference/api.md, identity.md). One world for all
 * versions; one gateway user per version, so the double's record tells the versions apart.
 * Results are summarised in docs/CLIENTS.md.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GATEWAY_USER, type RecordedRequest } from '../kube-double/index.js';
import { gatewayKubeconfig, memberUser, startProxyWorld, type ProxyWorld } from '../support/cluster.js';
import { discoverKubectls, kubectlFor, SDK_BIN_DIR, SYSTEM_KUBECTL, type Kubectl, type KubectlBinary } from './kubectl-bin.js';

/** kubectl switched exec/attach/cp from SPDY/3.1 to WebSocket (remotecommand v5) by default in 1.30. */
const WEBSOCKET_EXEC_DEFAULT_SINCE = 30;
/** 1.29 has WebSocket exec behind this (alpha) kubectl feature gate. */
const WEBSOCKET_EXEC_GATE = { minor: 29, env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'true' } };
/** `kubectl auth whoami` asks authentication.k8s.io/v1 from 1.28; 1.27 asks only v1beta1, then v1alpha1. */
const WHOAMI_V1_SINCE = 28;

const binaries: KubectlBinary[] = await discoverKubectls();
const versioned = binaries.filter((b) => b.path.startsWith(SDK_BIN_DIR));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `predicate` holds (the double fills in a record as the request proceeds). */
async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const userAgent = (r: RecordedRequest): string => r.headersDistinct['user-agent']?.join(' ') ?? '';

describe('kubectl version matrix through the gateway', () => {
  let world: ProxyWorld;

  before(async () => {
    world = await startProxyWorld({ double: { logFollowIntervalMs: 100 } });
  });
  after(() => world.stop());

  it('found kubectl binaries to run', (t: TestContext) => {
    if (versioned.length === 0) t.diagnostic(`no kubectl.1.NN in ${SDK_BIN_DIR}: the matrix is only what ${SYSTEM_KUBECTL} is`);
    t.diagnostic(`versions: ${binaries.map((b) => `${b.label}=${b.gitVersion}`).join(', ') || 'none'}`);
    assert.ok(binaries.length > 0, `no kubectl at all: neither ${SDK_BIN_DIR}/kubectl.1.NN nor /usr/bin/kubectl runs`);
  });

  for (const binary of binaries) {
    describe(`kubectl ${binary.label} (${binary.gitVersion})`, { timeout: 60_000 }, () => {
      const username = `matrix-1-${binary.minor}${binary.path.startsWith(SDK_BIN_DIR) ? '' : '-system'}`;
      let user: Awaited<ReturnType<typeof memberUser>>;
      let kubectl: Kubectl;
      const mine = () => world.double.requests.filter((r) => r.effective?.username === username);

      before(async () => {
        user = await memberUser(world, { username, groups: ['dev'] });
        const home = join(world.gw.dir, `home-${username}`);
        await mkdir(home, { recursive: true });
        kubectl = kubectlFor(binary, await gatewayKubeconfig(world, user.token, `${username}.yaml`), home);
      });

      it('get ns', async () => {
        const r = await kubectl.run(['get', 'ns', '-o', 'name']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /namespace\/default/);
        assert.match(r.stdout, /namespace\/kube-system/);
      });

      it('create configmap, then get it', async () => {
        const created = await kubectl.run(['create', 'configmap', `${username}-cm`, '--from-literal=a=b']);
        assert.equal(created.code, 0, created.stderr);
        const got = await kubectl.run(['get', 'configmap', `${username}-cm`, '-o', 'jsonpath={.data.a}']);
        assert.equal(got.code, 0, got.stderr);
        assert.equal(got.stdout, 'b');
      });

      it('get cm -w sees an object created while watching', async () => {
        const name = `${username}-watched`;
        const watch = kubectl.until(['get', 'configmaps', '-w', '-o', 'name'], new RegExp(`configmap/${name}\\b`), 15_000);
        try {
          // kubectl lists, then watches from the list's resourceVersion: create once the watch is open.
          await waitFor(() => mine().some((r) => /[?&]watch=(true|1)\b/.test(r.path) && r.status === 200), 'the watch request to be answered');
          const created = await kubectl.run(['create', 'configmap', name]);
          assert.equal(created.code, 0, created.stderr);
          assert.match(await watch.matched, new RegExp(`configmap/${name}`));
        } finally {
          watch.stop();
        }
      });

      it('logs', async () => {
        const r = await kubectl.run(['logs', 'web-0']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'web-0/web: starting\nweb-0/web: listening on :80\nweb-0/web: ready\n');
      });

      it('logs -f follows new lines', async () => {
        const follow = kubectl.until(['logs', '-f', 'web-0'], /web-0\/web: tick 2\n/, 10_000);
        try {
          assert.match(await follow.matched, /ready\nweb-0\/web: tick 1\nweb-0\/web: tick 2\n/);
        } finally {
          follow.stop();
        }
      });

      if (binary.minor >= WHOAMI_V1_SINCE) {
        it('auth whoami -o json shows the identity of docs/reference/identity.md', async () => {
          const r = await kubectl.run(['auth', 'whoami', '-o', 'json']);
          assert.equal(r.code, 0, r.stderr);
          const info = JSON.parse(r.stdout).status.userInfo;
          assert.equal(info.username, username);
          assert.equal(info.uid, user.id);
          assert.deepEqual(info.groups, ['dev', 'kubegate:role:member', 'kubegate:authenticated', 'system:authenticated']);
          assert.deepEqual(info.extra, { 'kubegate.io/token-id': [user.tokenId] });
        });
      } else {
        it('auth whoami: the v1beta1/v1alpha1 requests are relayed as the user (whoami itself not covered)', async (t: TestContext) => {
          const r = await kubectl.run(['auth', 'whoami', '-o', 'json']);
          const asked = mine().filter((q) => q.method === 'POST' && q.path.includes('/selfsubjectreviews'));
          assert.ok(asked.length > 0, 'whoami reached the cluster');
          for (const q of asked) {
            assert.match(q.path, /^\/apis\/authentication\.k8s\.io\/(v1beta1|v1alpha1)\/selfsubjectreviews/);
            assert.equal(q.status, 404, `${q.path}: the cluster's answer is relayed`);
          }
          t.diagnostic(
            `not covered: kubectl ${binary.label} asks ${asked.map((q) => q.path.split('/')[3]).join(' then ')}, ` +
              `and the double serves SelfSubjectReview only in authentication.k8s.io/v1 (GA since 1.28; 1.27 is also outside kubectl's ±1 skew with the double's v1.32). ` +
              `kubectl exit ${r.code}: ${r.stderr.trim().split('\n')[0] ?? ''}`,
          );
        });
      }

      if (binary.minor >= WEBSOCKET_EXEC_DEFAULT_SINCE) {
        it('exec -i -- cat with stdin (WebSocket v5)', async () => {
          const r = await kubectl.run(['exec', '-i', 'web-0', '--', 'cat'], { input: `hello from kubectl ${binary.label}\n` });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, `hello from kubectl ${binary.label}\n`);
          const execs = mine().filter((q) => q.path.includes('/exec?'));
          assert.equal(execs.at(-1)?.upgradeProtocol?.toLowerCase(), 'websocket');
          assert.equal(execs.at(-1)?.status, 101);
        });
      } else {
        if (binary.minor === WEBSOCKET_EXEC_GATE.minor) {
          it('exec -i -- cat with stdin over WebSocket, with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true', async () => {
            const r = await kubectl.run(['exec', '-i', 'web-0', '--', 'cat'], { input: 'gated websocket\n', env: WEBSOCKET_EXEC_GATE.env });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, 'gated websocket\n');
            assert.equal(mine().filter((q) => q.path.includes('/exec?')).at(-1)?.upgradeProtocol?.toLowerCase(), 'websocket');
          });
        }
        it('exec -i -- cat with stdin (SPDY/3.1, remotecommand v4)', async () => {
          const r = await kubectl.run(['exec', '-i', 'web-0', '--', 'cat'], { input: 'spdy\n' });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, 'spdy\n');
          const spdy = mine().filter((q) => q.path.includes('/exec?') && q.upgradeProtocol?.toLowerCase() === 'spdy/3.1');
          assert.equal(spdy.length, 1, 'one SPDY upgrade reached the cluster');
          assert.equal(spdy[0]?.status, 101);
          assert.ok(spdy[0]?.streamProtocolVersions.includes('v4.channel.k8s.io'), 'X-Stream-Protocol-Version offers reach the cluster');
        });
      }

      it('every request reached the cluster as this user, authenticated as the gateway, without the client token', async () => {
        const seen = mine();
        assert.ok(seen.length >= 8, `only ${seen.length} requests recorded for ${username}`);
        const secret = user.token.includes('.') ? user.token.split('.').at(-1)! : user.token;
        for (const r of seen) {
          assert.equal(r.authenticatedAs?.username, GATEWAY_USER.username, r.path);
          const text = JSON.stringify(r.rawHeaders);
          assert.ok(!text.includes(user.token), `client token reached the cluster on ${r.path}`);
          assert.ok(!text.includes(secret), `token secret reached the cluster on ${r.path}`);
          // The requests came from the binary under test. The SDK's /usr/bin/kubectl dispatcher asks
          // /version itself (as kubectl-dispatcher/…) and then runs a kubectl.1.NN, which names itself.
          assert.match(userAgent(r), new RegExp(`/v1\\.${binary.minor}\\.|^kubectl-dispatcher/`), r.path);
        }
        // Watches, followed logs and exec streams all ended when kubectl did.
        await waitFor(() => world.double.activeStreams() === 0, 'streams to close');
      });
    });
  }
});
