/**
 * The request path of `/k8s/clusters/{id}/…`, top to bottom. Each stage is its own file and
 * throws a `GatewayError` to stop; `render-error.ts` answers with a Kubernetes `Status`.
 * The `ProxyExchange` is the request scope the stages fill in; it becomes the audit line.
 *
 * No Express, body parser or management-API middleware here: this is the hot path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { TokenAuthenticator } from '../auth/identity.js';
import type { LastUsedRecorder } from '../auth/last-used.js';
import type { FailureThrottle } from '../auth/failure-throttle.js';
import { GatewayError } from '../errors.js';
import type { RequestTracker } from '../http/request-tracker.js';
import { sendStatus, writeStatusToSocket } from '../http/render-error.js';
import { authenticate } from './authenticate.js';
import { authorizeCluster } from './authorize.js';
import type { ClusterDirectory } from './cluster-directory.js';
import { parseClusterPath } from './cluster-path.js';
import { ProxyExchange, type Observers } from './exchange.js';
import { forward, type UpstreamTarget } from './forward.js';
import { impersonate } from './impersonate.js';
import { stripClientIdentity } from './strip-headers.js';
import { tunnel } from './tunnel.js';

export interface ProxyDeps {
  authenticator: TokenAuthenticator;
  badTokens: FailureThrottle;
  clusters: ClusterDirectory;
  lastUsed: LastUsedRecorder;
  observers: Observers;
  /** In-flight and long-running requests, for graceful shutdown. */
  requests: RequestTracker;
  log: Logger;
}

export interface ProxyHandler {
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void>;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

/** Counts a 401 against the client address, then rethrows. */
function countFailure(throttle: FailureThrottle, client: string) {
  return (err: unknown): never => {
    if (err instanceof GatewayError && err.code === 401) throttle.failed(client);
    throw err;
  };
}

/** Builds the proxy's request and upgrade handlers. */
export function createProxyHandler(deps: ProxyDeps): ProxyHandler {
  const { trust } = deps.observers;

  /** Every stage before forwarding, in order; the same for plain requests and upgrades. */
  async function prepare(req: IncomingMessage, exchange: ProxyExchange): Promise<UpstreamTarget> {
    const { clusterId, path } = parseClusterPath(req.url!);
    exchange.clusterId = clusterId;
    // An address that keeps presenting invalid tokens is slowed down before any lookup.
    deps.badTokens.check(exchange.clientAddress, 'bearer tokens from this address');
    const identity = await authenticate(req, clusterId, deps.authenticator).catch(countFailure(deps.badTokens, exchange.clientAddress));
    exchange.identity = identity;
    const route = authorizeCluster(identity, clusterId, deps.clusters);
    // Order matters (CVE-2021-31999): strip what the client sent, then add our own identity.
    const stripped = stripClientIdentity(req, { trustForwarded: trust.trustsForwarded(req), upgrade: exchange.upgrade });
    const headers = impersonate(stripped, identity, route);
    deps.lastUsed.record(identity.token.id);
    exchange.dispatched(clusterId, path, identity);
    return { route, path, headers };
  }

  function refused(exchange: ProxyExchange, err: unknown, render: () => ReturnType<typeof sendStatus>): void {
    const rendered = render();
    exchange.failed(rendered);
    if (rendered.code >= 500) deps.log.warn({ requestId: exchange.requestId, cluster: exchange.clusterId, reason: rendered.reason, err: (err as Error).cause ?? err }, rendered.message);
  }

  return {
    async handleRequest(req, res) {
      const exchange = new ProxyExchange(req, deps.observers, false);
      // 'close' fires once: `on` spares the wrapper `once` allocates on every request.
      res.on('close', () => exchange.finish());
      try {
        const target = await prepare(req, exchange);
        if (exchange.info?.longRunning) deps.requests.markLongRunning(res);
        await forward({ req, res, target, exchange });
      } catch (err) {
        refused(exchange, err, () => sendStatus(res, err, exchange.requestId));
      }
    },

    async handleUpgrade(req, socket, head) {
      const exchange = new ProxyExchange(req, deps.observers, true);
      socket.on('error', () => socket.destroy());
      deps.requests.trackTunnel(socket);
      socket.once('close', () => exchange.finish());
      try {
        await tunnel({ req, socket, head, target: await prepare(req, exchange), exchange });
      } catch (err) {
        refused(exchange, err, () => writeStatusToSocket(socket, err));
      }
    },
  };
}
