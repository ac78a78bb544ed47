/** Where a prepared request goes, and the error for a cluster that cannot be reached. */
import { unavailable, type GatewayError } from '../errors.js';
import type { ClusterRoute } from './cluster-directory.js';

/** What the proxy stages hand to the upstream side. */
export interface UpstreamTarget {
  route: ClusterRoute;
  /** The kube path and query, as received. */
  path: string;
  /** Raw outgoing header pairs, stripped and impersonated. */
  headers: string[];
  /**
   * Watches, log follows, exec/attach/port-forward: they share HTTP/2 connections (or get a
   * connection each) instead of the keep-alive pool, flush headers at once, and end at shutdown.
   */
  longRunning: boolean;
}

/** The 503 for a cluster that cannot be reached (refused, reset, TLS failure, timeout). */
export function unreachable(route: ClusterRoute, err: NodeJS.ErrnoException): GatewayError {
  // An agent cluster whose agent is not connected (to any replica): say so, not "unreachable".
  if (err.code === 'ENOAGENT') return unavailable(`cluster ${route.id} has no connected agent`, err);
  if (route.agentConnected) {
    // A request that raced the agent's departure meets a closed tunnel stream, not ENOAGENT.
    if (!route.agentConnected()) return unavailable(`cluster ${route.id} has no connected agent`, err);
    return unavailable(`cluster ${route.id}: the agent's tunnel closed during the request (${err.code ?? 'connection failed'})`, err);
  }
  return unavailable(`cluster "${route.id}" is unreachable (${err.code ?? 'connection failed'})`, err);
}
