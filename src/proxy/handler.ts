/**
 * The request path of `/k8s/clusters/{id}/…`, top to bottom. Each stage is its own file and
 * throws a `GatewayError` to stop; `render-error.ts` answers with a Kubernetes `Status`.
 *
 * No Express, body parser or management-API middleware here: this is the hot path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { TokenAuthenticator } from '../auth/identity.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import { sendStatus, writeStatusToSocket } from '../http/render-error.js';
import { authenticate } from './authenticate.js';
import { authorizeCluster } from './authorize.js';
import type { ClusterDirectory } from './cluster-directory.js';
import { parseClusterPath } from './cluster-path.js';
import { forward } from './forward.js';
import { impersonate } from './impersonate.js';
import { stripClientIdentity } from './strip-headers.js';
import { tunnel } from './tunnel.js';

export interface ProxyDeps {
  authenticator: TokenAuthenticator;
  clusters: ClusterDirectory;
  lastUsed: LastUsedRecorder;
  /** Whether this peer's `X-Forwarded-*` headers may pass (see `--trust-proxy`). */
  trustsForwarded: (req: IncomingMessage) => boolean;
  log: Logger;
}

export interface ProxyHandler {
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void>;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** Open upgrade tunnels (the HTTP server no longer tracks upgraded sockets). */
  tunnelCount(): number;
  /** Closes every open tunnel (at the end of a graceful shutdown). */
  closeTunnels(): void;
}

/** Builds the proxy's request and upgrade handlers. */
export function createProxyHandler(deps: ProxyDeps): ProxyHandler {
  const tunnels = new Set<Duplex>();

  /** Every stage before forwarding; the same for plain requests and upgrades. */
  async function prepare(req: IncomingMessage, upgrade: boolean) {
    const { clusterId, path } = parseClusterPath(req.url!);
    const identity = await authenticate(req, clusterId, deps.authenticator);
    const route = authorizeCluster(identity, clusterId, deps.clusters);
    // Order matters (CVE-2021-31999): strip what the client sent, then add our own identity.
    const stripped = stripClientIdentity(req, { trustForwarded: deps.trustsForwarded(req), upgrade });
    const headers = impersonate(stripped, identity, route);
    deps.lastUsed.record(identity.token.id);
    return { route, path, headers };
  }

  return {
    async handleRequest(req, res) {
      try {
        await forward(req, res, await prepare(req, false), deps.log);
      } catch (err) {
        sendStatus(res, err);
      }
    },

    async handleUpgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      tunnels.add(socket);
      socket.once('close', () => tunnels.delete(socket));
      try {
        await tunnel(req, socket, head, await prepare(req, true), deps.log);
      } catch (err) {
        writeStatusToSocket(socket, err);
      }
    },

    tunnelCount: () => tunnels.size,

    closeTunnels() {
      for (const s of tunnels) s.destroy();
    },
  };
}
