/**
 * Wires `kubegate agent` together: read the kube-apiserver credentials, serve the health port,
 * then keep a tunnel to the gateway up (and, with `--manage-rbac`, the role bindings) until told to stop.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { listen } from '../http/server.js';
import type { AgentConfig } from './config.js';
import { GatewayLink, type Backoff } from './gateway-link.js';
import { KubeCredentials } from './kube-credentials.js';
import { RbacReconciler } from './rbac-reconciler.js';

export interface Agent {
  link: GatewayLink;
  health: Server;
  /** `http://host:port` of the health server. */
  healthUrl: string;
  close(): Promise<void>;
}

/** `/healthz`: the process serves. `/readyz`: a tunnel to the gateway is up. */
function healthServer(link: GatewayLink): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const ok = path === '/healthz' || (path === '/readyz' && link.connected);
    const known = path === '/healthz' || path === '/readyz';
    res.writeHead(known ? (ok ? 200 : 503) : 404, { 'Content-Type': 'text/plain' });
    res.end(known ? (ok ? 'ok\n' : 'not connected to the gateway\n') : 'not found\n');
  });
}

/** Starts the agent; resolves once its health port listens (the tunnel comes up by itself). */
export async function startAgent(config: AgentConfig, log: Logger, options: { backoff?: Backoff } = {}): Promise<Agent> {
  const credentials = new KubeCredentials(config, log, config.rereadMs);
  await credentials.start();
  const link = new GatewayLink(config, credentials, log, options.backoff);
  const health = healthServer(link);
  const healthUrl = await listen(health, config.healthListen, { settingName: '--health-listen', secure: false });
  link.start();
  const rbac = config.manageRbacEveryMs === undefined ? undefined : new RbacReconciler(config, credentials, log, config.manageRbacEveryMs);
  rbac?.start();
  log.info({ gateway: config.gateway.origin, cluster: config.clusterId, kubeApi: config.kubeApi.origin, health: healthUrl }, 'kubegate agent started');
  return {
    link,
    health,
    healthUrl,
    async close() {
      link.stop();
      await rbac?.stop();
      credentials.stop();
      await new Promise<void>((resolve) => health.close(() => resolve()));
    },
  };
}
