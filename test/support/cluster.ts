/** A gateway with the kube-apiserver double registered as a cluster, and helpers to drive kubectl through it. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startKubeDouble, type KubeDouble } from '../kube-double/index.js';
import type { KubeDoubleOptions } from '../kube-double/index.js';
import { ADMIN_PASSWORD, call, createUser, login, startTestGateway, type TestGateway } from './gateway.js';
import { runProcess, runUntil, type RunResult } from './run-process.js';

export type { RunResult };

export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

export interface ProxyWorld {
  gw: TestGateway;
  double: KubeDouble;
  adminToken: string;
  clusterId: string;
  stop(): Promise<void>;
}

/** Starts the double and a gateway, and registers the double as cluster `clusterId`. */
export async function startProxyWorld(
  options: { flags?: string[]; double?: KubeDoubleOptions; clock?: () => number; clusterId?: string } = {},
): Promise<ProxyWorld> {
  const double = await startKubeDouble(options.double);
  const gw = await startTestGateway(options.flags ?? [], { clock: options.clock });
  const adminToken = await login(gw, 'admin', ADMIN_PASSWORD);
  const clusterId = options.clusterId ?? 'double';
  const res = await call(gw, 'POST', '/v1/clusters', {
    token: adminToken,
    body: { id: clusterId, server: double.url, caData: Buffer.from(double.caPem).toString('base64'), credential: { token: double.gatewayToken } },
  });
  if (res.status !== 201) throw new Error(`register cluster: ${res.status} ${res.text}`);
  return {
    gw,
    double,
    adminToken,
    clusterId,
    async stop() {
      await gw.stop();
      await double.stop();
    },
  };
}

/** Creates a user who is a member of the world's cluster; returns the id and a fresh login token. */
export async function memberUser(
  world: ProxyWorld,
  user: { username: string; password?: string; groups?: string[] },
  membership: 'user' | 'none' = 'user',
): Promise<{ id: string; token: string; tokenId: string; password: string }> {
  const password = user.password ?? `${user.username}-password`;
  const id = await createUser(world.gw, world.adminToken, { username: user.username, password, groups: user.groups ?? [] });
  if (membership === 'user') {
    const res = await call(world.gw, 'PUT', `/v1/clusters/${world.clusterId}/members`, {
      token: world.adminToken,
      body: { principal: `user:${user.username}`, role: 'member' },
    });
    if (res.status !== 200) throw new Error(`add member: ${res.status} ${res.text}`);
  }
  const res = await call(world.gw, 'POST', '/v1/login', { body: { username: user.username, password } });
  return { id, token: res.body.token, tokenId: res.body.tokenId, password };
}

/** Writes a kubeconfig pointing at the gateway's proxy path for the cluster, with `token`. */
export async function gatewayKubeconfig(world: ProxyWorld, token: string, name = 'kubeconfig.yaml'): Promise<string> {
  const path = join(world.gw.dir, name);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'gw', cluster: { server: `${world.gw.url}/k8s/clusters/${world.clusterId}`, 'certificate-authority-data': Buffer.from(world.gw.caPem!).toString('base64') } }],
    users: [{ name: 'u', user: { token } }],
    contexts: [{ name: 'gw', context: { cluster: 'gw', user: 'u', namespace: 'default' } }],
    'current-context': 'gw',
  };
  await writeFile(path, stringify(doc), { mode: 0o600 });
  return path;
}

/** The environment kubectl runs with: the user's PATH and HOME, nothing else. */
const kubectlEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...extra });

/** Runs kubectl with a kubeconfig; `input` is piped to stdin. Bounded by `timeoutMs`. */
export function kubectl(kubeconfig: string, args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return runProcess(KUBECTL, ['--kubeconfig', kubeconfig, ...args], kubectlEnv(options.env), options);
}

/** Starts a long-running kubectl (watch, logs -f) and resolves `matched` when its stdout matches. */
export function kubectlUntil(kubeconfig: string, args: string[], match: RegExp, timeoutMs = 10_000) {
  return runUntil(KUBECTL, ['--kubeconfig', kubeconfig, ...args], kubectlEnv(), match, timeoutMs);
}

/**
 * Resolves once the cluster has received a watch of `resource` (kubectl `get -w` lists first, then
 * watches from the list's resourceVersion): an object created after this appears in the watch,
 * never in the initial list. An event to wait for, instead of a sleep.
 */
export async function watchReceived(requests: () => RecordedRequestLike[] | Promise<RecordedRequestLike[]>, resource: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const seen = (r: RecordedRequestLike) => r.path.includes(`/${resource}?`) && /[?&]watch=(true|1)\b/.test(r.path);
  while (!(await requests()).some(seen)) {
    if (Date.now() > deadline) throw new Error(`no watch of ${resource} reached the cluster within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface RecordedRequestLike {
  path: string;
}
