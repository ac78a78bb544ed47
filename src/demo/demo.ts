/**
 * `kubegate demo`: everything a newcomer needs to see kubegate do its job, on this machine, in one
 * process. The kube-apiserver imitation (kube-imitation/, not a real cluster) stands in for a
 * cluster; the gateway registers it as cluster `demo` (named `demo-imitation`, so no screen can
 * mistake it for a real one) with its direct door enabled; `kubegate webhook` runs beside it; user
 * `demo` is a member and gets a kubeconfig. Both doors work with real kubectl:
 *
 *   kubectl → gateway (https://localhost:<port>/k8s/clusters/demo) → imitation, impersonating `demo`
 *   kubectl → imitation (context demo-imitation-direct) → TokenReview → webhook's copy
 *
 * The gateway can be stopped and started alone (`stopGateway`/`startGateway`) to show the direct
 * door working without it. Everything lives in `dataDir`; the imitation itself keeps nothing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { loadGatewayConfig, type GatewayConfig } from '../config/gateway-config.js';
import { ensureDir } from '../ensure-dir.js';
import { ConfigError } from '../errors.js';
import { startGateway, type Gateway } from '../gateway.js';
import { createLogger } from '../log.js';
import { renderWebhookConfig } from '../render/webhook-config.js';
import { startWebhook, type Webhook } from '../webhook/webhook.js';
import type { DemoConfig } from './config.js';
import { apiMessage, gatewayApi, type ApiResponse, type GatewayApi } from './gateway-api.js';
import { startKubeDouble, type KubeDouble } from './kube-imitation/index.js';

export const DEMO_CLUSTER_ID = 'demo';
/** The cluster's name says what it is: kubeconfig contexts, the UI and the logs all show it. */
export const DEMO_CLUSTER_NAME = 'demo-imitation';
/** The control-plane node of the direct door; its context is `<name>-<node>`. */
export const DEMO_DIRECT_NODE = 'direct';
export const DEMO_DIRECT_CONTEXT = `${DEMO_CLUSTER_NAME}-${DEMO_DIRECT_NODE}`;
export const DEMO_USER = 'demo';
/** Written into a data directory the demo made; `--reset` deletes only directories holding it. */
const MARKER = '.kubegate-demo';

export interface Demo {
  /** The gateway's public URL (https://localhost:<port>). */
  publicUrl: string;
  kubeconfigPath: string;
  demoPassword: string;
  adminPassword: string;
  /** The imitation's URL (the direct door's server). */
  clusterUrl: string;
  gatewayRunning(): boolean;
  /** Stops only the gateway: the imitation and the webhook keep serving the direct door. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
  /** Stops everything. */
  close(): Promise<void>;
}

const step = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
  }
};

async function prepareDataDir(config: DemoConfig): Promise<void> {
  if (config.reset && existsSync(config.dataDir)) {
    if (!existsSync(join(config.dataDir, MARKER))) {
      throw new ConfigError(`--reset: ${config.dataDir} was not made by kubegate demo (no ${MARKER} in it); not deleting it`);
    }
    await rm(config.dataDir, { recursive: true, force: true });
  }
  if (existsSync(config.dataDir) && !existsSync(join(config.dataDir, MARKER))) {
    if (readdirSync(config.dataDir).length > 0) throw new ConfigError(`--data-dir: ${config.dataDir} is not a kubegate demo directory; name another one`);
  }
  await ensureDir(config.dataDir);
  await writeFile(join(config.dataDir, MARKER), 'made by kubegate demo; --reset deletes this directory\n');
}

/** A password kept in the data directory across runs (0600). */
async function secret(path: string): Promise<string> {
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  const value = randomBytes(12).toString('base64url');
  await writeFile(path, `${value}\n`, { mode: 0o600 });
  return value;
}

const expect = async (what: string, res: Promise<ApiResponse>, ok: number[]) => {
  const r = await res;
  if (!ok.includes(r.status)) throw new Error(`${what}: ${apiMessage(r)}`);
  return r;
};

async function login(api: GatewayApi, username: string, password: string): Promise<string> {
  const res = await expect(`logging in as ${username}`, api.call('POST', '/v1/login', { body: { username, password, description: 'kubegate demo set-up' } }), [201]);
  return res.body.token as string;
}

/**
 * Registers (or re-points) cluster `demo` at this run's imitation; returns the agent token the
 * webhook syncs with: the saved one, else a fresh one from registering or rotating.
 */
async function registerCluster(api: GatewayApi, admin: string, imitation: KubeDouble, agentTokenFile: string): Promise<string> {
  const caData = Buffer.from(imitation.caPem).toString('base64');
  const spec = {
    name: DEMO_CLUSTER_NAME,
    server: imitation.url,
    caData,
    credential: { token: imitation.gatewayToken },
    authorizedEndpoint: { enabled: true, caData, controlPlaneNodes: [{ name: DEMO_DIRECT_NODE, address: `127.0.0.1:${imitation.port}` }] },
  };
  const list = await expect('listing clusters', api.call('GET', '/v1/clusters', { token: admin }), [200]);
  const exists = (list.body.items as Array<{ id: string }>).some((c) => c.id === DEMO_CLUSTER_ID);
  let agentToken: string | undefined;
  if (!exists) {
    const res = await expect('registering the demo cluster', api.call('POST', '/v1/clusters', { token: admin, body: { id: DEMO_CLUSTER_ID, ...spec } }), [201]);
    agentToken = res.body.agentToken as string;
  } else {
    await expect('updating the demo cluster', api.call('PATCH', `/v1/clusters/${DEMO_CLUSTER_ID}`, { token: admin, body: spec }), [200]);
    if (existsSync(agentTokenFile)) return (await readFile(agentTokenFile, 'utf8')).trim();
    const res = await expect("rotating the demo cluster's agent token", api.call('POST', `/v1/clusters/${DEMO_CLUSTER_ID}/agent-token`, { token: admin }), [200, 201]);
    agentToken = res.body.agentToken as string;
  }
  await writeFile(agentTokenFile, `${agentToken}\n`, { mode: 0o600 });
  return agentToken;
}

async function ensureDemoUser(api: GatewayApi, admin: string, password: string): Promise<void> {
  const created = await api.call('POST', '/v1/users', { token: admin, body: { username: DEMO_USER, password } });
  if (created.status === 409) {
    // A previous run made the user; make its password the one this directory holds.
    const users = await expect('listing users', api.call('GET', '/v1/users', { token: admin }), [200]);
    const user = (users.body.items as Array<{ id: string; username: string }>).find((u) => u.username === DEMO_USER);
    if (!user) throw new Error(`creating user ${DEMO_USER}: ${apiMessage(created)}`);
    await expect(`resetting ${DEMO_USER}'s password`, api.call('PATCH', `/v1/users/${user.id}`, { token: admin, body: { password, enabled: true } }), [200]);
  } else if (created.status !== 201) {
    throw new Error(`creating user ${DEMO_USER}: ${apiMessage(created)}`);
  }
  await expect(
    `making ${DEMO_USER} a member of the demo cluster`,
    api.call('PUT', `/v1/clusters/${DEMO_CLUSTER_ID}/members`, { token: admin, body: { principal: `user:${DEMO_USER}`, role: 'member' } }),
    [200, 201],
  );
}

/** The demo user's kubeconfig for this run; the previous runs' kubeconfig tokens are revoked first. */
async function downloadKubeconfig(api: GatewayApi, password: string): Promise<string> {
  const session = await login(api, DEMO_USER, password);
  try {
    const tokens = await expect('listing the demo user\'s tokens', api.call('GET', '/v1/tokens', { token: session }), [200]);
    for (const t of tokens.body.items as Array<{ tokenId: string; kind: string; clusterId: string | null }>) {
      if (t.kind === 'kubeconfig' && t.clusterId === DEMO_CLUSTER_ID) await api.call('DELETE', `/v1/tokens/${t.tokenId}`, { token: session });
    }
    const res = await expect('downloading the kubeconfig', api.call('POST', `/v1/clusters/${DEMO_CLUSTER_ID}/kubeconfig`, { token: session }), [200]);
    return res.text;
  } finally {
    await api.call('POST', '/v1/logout', { token: session }).catch(() => undefined);
  }
}

/** Resolves once the webhook's copy accepts `token` (it syncs from the gateway in the background). */
async function webhookAccepts(webhook: Webhook, token: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!webhook.copy.decide(token).authenticated) {
    if (Date.now() > deadline) throw new Error(`the webhook did not receive the kubeconfig's token within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startDemo(config: DemoConfig): Promise<Demo> {
  await prepareDataDir(config);
  const dir = config.dataDir;
  const paths = {
    log: join(dir, 'kubegate.log'),
    webhookConfig: join(dir, 'kube-api-authn-webhook.yaml'),
    agentToken: join(dir, 'agent-token'),
    kubeconfig: join(dir, 'kubeconfig.yaml'),
  };
  const adminPassword = await secret(join(dir, 'admin-password'));
  const demoPassword = await secret(join(dir, 'demo-password'));
  const log: Logger = createLogger(config.logLevel, pino.destination({ dest: paths.log, append: true, sync: true }));
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
  };

  try {
    // The imitation asks the webhook about every bearer token but its own, as kube-apiserver
    // configured with `kubegate render webhook-config` would.
    await writeFile(paths.webhookConfig, renderWebhookConfig(`http://127.0.0.1:${config.webhookPort}/v1/authenticate`));
    const imitation = await startKubeDouble({ webhookConfigFile: paths.webhookConfig }, { port: config.clusterPort }).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(`--cluster-port: cannot listen on 127.0.0.1:${config.clusterPort}: ${err.code ?? err.message}`);
    });
    cleanups.push(() => imitation.stop());
    // The imitation records every request for tests; a demo left running must not grow without end.
    const trim = setInterval(() => imitation.clearRequests(), 60_000);
    trim.unref();
    cleanups.push(async () => clearInterval(trim));
    log.info({ cluster: DEMO_CLUSTER_ID, server: imitation.url }, 'started the kube-apiserver imitation for the demo (not a real cluster)');

    const publicUrl = `https://localhost:${config.listen.port}`;
    const gatewayConfig: GatewayConfig = loadGatewayConfig(
      [
        '--listen', `${config.listen.host}:${config.listen.port}`,
        '--public-url', publicUrl,
        '--data-dir', join(dir, 'gateway'),
        '--certs-dir', join(dir, 'certs'),
        '--admin-password', adminPassword,
        '--audit-log', join(dir, 'audit.log'),
        '--log-level', config.logLevel,
        '--shutdown-grace', '0s',
        '--shutdown-timeout', '2s',
      ],
      {},
    );
    let gateway: Gateway | undefined;
    const start = async () => {
      gateway = await startGateway(gatewayConfig, log, { announce: () => {} });
      log.info({ url: gateway.url }, 'demo gateway started');
    };
    const stop = async () => {
      const g = gateway;
      gateway = undefined;
      await g?.close();
    };
    await start();
    cleanups.push(stop);
    const api = gatewayApi(gateway!.url, gateway!.caPem);

    const admin = await login(api, 'admin', adminPassword);
    let agentToken: string;
    try {
      agentToken = await step('registering the demo cluster', () => registerCluster(api, admin, imitation, paths.agentToken));
      await step('creating the demo user', () => ensureDemoUser(api, admin, demoPassword));
    } finally {
      await api.call('POST', '/v1/logout', { token: admin }).catch(() => undefined);
    }
    const kubeconfig = await step('writing the kubeconfig', () => downloadKubeconfig(api, demoPassword));
    await writeFile(paths.kubeconfig, kubeconfig, { mode: 0o600 });

    const webhook = await startWebhook(
      {
        gateway: new URL(gateway!.url),
        clusterId: DEMO_CLUSTER_ID,
        agentToken,
        gatewayCaPem: gateway!.caPem,
        listen: { host: '127.0.0.1', port: config.webhookPort },
        stateDir: join(dir, 'webhook'),
        logLevel: config.logLevel,
      },
      log.child({ component: 'webhook' }),
    ).catch((err: Error) => {
      throw err instanceof ConfigError ? new ConfigError(err.message.replace(/^--listen/, '--webhook-port')) : err;
    });
    cleanups.push(() => webhook.close());
    const token = (parseYaml(kubeconfig) as { users: Array<{ user: { token?: string } }> }).users[0]?.user.token;
    if (token) await step('starting the direct door', () => webhookAccepts(webhook, token));

    return {
      publicUrl,
      kubeconfigPath: paths.kubeconfig,
      demoPassword,
      adminPassword,
      clusterUrl: imitation.url,
      gatewayRunning: () => gateway !== undefined,
      stopGateway: stop,
      async startGateway() {
        if (!gateway) await start();
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** What the demo prints once it is ready. */
export function demoInstructions(demo: Demo, config: DemoConfig): string {
  const k = `kubectl --kubeconfig ${demo.kubeconfigPath}`;
  return [
    '',
    'kubegate demo is running: a gateway, and a kube-apiserver IMITATION registered as cluster "demo"',
    `(named ${DEMO_CLUSTER_NAME}). The imitation answers the Kubernetes API from memory; it is not a real`,
    'cluster: nothing is scheduled and no container runs.',
    '',
    `  Web UI       ${demo.publicUrl}/   (your browser will warn: the gateway's CA is ${join(config.dataDir, 'certs', 'ca.crt')})`,
    `  Log in as    ${DEMO_USER} / ${demo.demoPassword}      (administrator: admin / ${demo.adminPassword})`,
    `  Kubeconfig   ${demo.kubeconfigPath}`,
    '',
    'Try, through the gateway:',
    `  ${k} get ns`,
    `  ${k} auth whoami`,
    `  ${k} exec web-0 -- whoami`,
    '',
    'And the direct door, straight to the cluster (its webhook checks the same token, no gateway in the path):',
    `  ${k} --context ${DEMO_DIRECT_CONTEXT} auth whoami`,
    '',
    'Type "stop" and Enter to stop only the gateway: the direct command keeps working, the others fail.',
    'Type "start" to start the gateway again. Ctrl-C stops everything; --reset starts from scratch.',
    `Logs: ${join(config.dataDir, 'kubegate.log')}`,
    '',
  ].join('\n');
}
